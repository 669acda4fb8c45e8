// Which agent host serves which server: the decider's status names agent hosts (with the
// age of their last heartbeat) but not their servers; each agent's heartbeat, every second
// on `marina.v1.agent.<host>.heartbeat`, lists them.
import { AgentHeartbeatMessage, parseOnSubject, subjects } from "@marina/contracts";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";

/** How long `status` waits, at most, to hear the agents it was told about. */
export const AGENT_LISTEN_MS = 1200;

export interface AgentListener {
  /** server → agent host, for every heartbeat heard so far. */
  agentOf(): Record<string, string>;
  /** Resolves when every host was heard, or `deadline` (ms since listening began) passed. */
  heard(hosts: readonly string[], deadlineMs?: number): Promise<void>;
  close(): void;
}

export function listenAgents(nc: NatsConnection): AgentListener {
  const started = performance.now();
  const servers = new Map<string, string[]>();
  let wake: (() => void) | undefined;
  const sub: Subscription = nc.subscribe(subjects.agentHeartbeatAll(), {
    callback: (_err, m) => {
      const r = parseOnSubject(AgentHeartbeatMessage, m.subject, m.data);
      if (!r.ok) return;
      servers.set(
        r.value.payload.host,
        r.value.payload.servers.map((s) => s.name),
      );
      wake?.();
    },
  });
  return {
    agentOf: () =>
      Object.fromEntries([...servers].flatMap(([host, names]) => names.map((n) => [n, host]))),
    async heard(hosts, deadlineMs = AGENT_LISTEN_MS) {
      while (hosts.some((h) => !servers.has(h))) {
        const left = deadlineMs - (performance.now() - started);
        if (left <= 0) return;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
    close: () => sub.unsubscribe(),
  };
}
