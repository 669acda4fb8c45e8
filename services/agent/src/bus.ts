import type { NatsConnection, Subscription } from "@nats-io/transport-node";

/** The little the agent needs from NATS: publish, and serve request/reply subjects. */
export interface Bus {
  publish(subject: string, data: string): void;
  /** Calls `handler` for every request on `subject` and replies with what it returns. */
  serve(subject: string, handler: (data: Uint8Array) => Promise<string>): { stop(): void };
  flush(): Promise<void>;
  /** Calls `handler` for every message on `subject` (no reply). */
  subscribe(subject: string, handler: (data: Uint8Array) => void): { stop(): void };
}

export function natsBus(nc: NatsConnection): Bus {
  return {
    publish(subject, data) {
      nc.publish(subject, data);
    },
    serve(subject, handler) {
      const sub: Subscription = nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err) return;
          // Each request runs on its own: a long stop-server must not delay a status.
          void handler(msg.data).then(
            (reply) => msg.respond(reply),
            () => {},
          );
        },
      });
      return { stop: () => sub.unsubscribe() };
    },
    flush: () => nc.flush(),
    subscribe(subject, handler) {
      const sub = nc.subscribe(subject, {
        callback: (err, msg) => {
          if (!err) handler(msg.data);
        },
      });
      return { stop: () => sub.unsubscribe() };
    },
  };
}
