// The veto request over NATS: one request, every reply within the timeout (nats.js
// requestMany, timer strategy). No responder at all is no reply, not an error.
import type { NatsConnection } from "@nats-io/transport-node";
import type { VetoAsker } from "./context.js";

function noResponders(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e.name === "NoRespondersError" || /no responders|503/i.test(e.message)) return true;
  }
  return false;
}

export function natsAsker(bus: NatsConnection): VetoAsker {
  return async (subject, data, timeoutMs) => {
    const replies: Uint8Array[] = [];
    try {
      const it = await bus.requestMany(subject, data, { maxWait: timeoutMs, strategy: "timer" });
      for await (const m of it) replies.push(m.data);
    } catch (err) {
      if (!noResponders(err)) throw err;
    }
    return replies;
  };
}
