// The decider's Bus over a real NATS connection.
import { BEAT_INBOX_PREFIX, isInboxSubject, MarinaError } from "@marina/contracts";
import { jetstream } from "@nats-io/jetstream";
import { createInbox, errors, type NatsConnection } from "@nats-io/transport-node";
import type { Bus } from "./bus.js";

function isNoResponders(err: unknown): boolean {
  return (
    (err instanceof errors.RequestError && err.isNoResponders()) ||
    err instanceof errors.NoRespondersError
  );
}

export function natsBus(nc: NatsConnection): Bus {
  return {
    publish: (subject, data) => nc.publish(subject, data),
    subscribe(subject, deliver, opts = {}) {
      return nc.subscribe(subject, {
        ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
        callback: (err, msg) => {
          if (err) return;
          deliver({
            subject: msg.subject,
            data: msg.data,
            // Only to an inbox: a reply subject naming one of Marina's own subjects or
            // buckets would have the decider write there with its own rights.
            respond: (data) => isInboxSubject(msg.reply) && msg.respond(data),
          });
        },
      });
    },
    async request(subject, data, opts) {
      try {
        return await nc.request(subject, data, { timeout: opts.timeoutMs });
      } catch (err) {
        if (isNoResponders(err)) {
          throw new MarinaError("SERVER_UNREACHABLE", (err as Error).message, { cause: err });
        }
        throw err;
      }
    },
    async store(subject, data, msgId) {
      await jetstream(nc).publish(subject, data, { msgID: msgId });
    },
    flush: () => nc.flush(),
    beatInbox: () => createInbox(BEAT_INBOX_PREFIX),
  };
}
