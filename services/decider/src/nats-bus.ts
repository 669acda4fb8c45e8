// The decider's Bus over a real NATS connection.
import { MarinaError } from "@marina/contracts";
import { createInbox, errors, type NatsConnection } from "@nats-io/transport-node";
import type { Bus } from "./bus.js";

function isNoResponders(err: unknown): boolean {
  return (
    (err instanceof errors.RequestError && err.isNoResponders()) ||
    err instanceof errors.NoRespondersError
  );
}

/** The connection's inbox prefix: its NATS identity may subscribe to no other inboxes. */
function inboxPrefixOf(nc: NatsConnection): string | undefined {
  return (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
}

export function natsBus(nc: NatsConnection): Bus {
  const prefix = inboxPrefixOf(nc);
  return {
    publish: (subject, data) => nc.publish(subject, data),
    subscribe(subject, deliver, opts = {}) {
      return nc.subscribe(subject, {
        ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
        callback: (err, msg) => {
          if (!err) deliver(msg);
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
    flush: () => nc.flush(),
    inbox: () => createInbox(prefix),
  };
}
