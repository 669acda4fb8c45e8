import type { ClusterConfig } from "@marina/contracts/config";
import type { ServerObservation } from "@marina/contracts/health";
import {
  connectionsTo,
  observedSinceChange,
  reachability,
  recentSamples,
  serverConfig,
} from "./knowledge.js";
import type { DeciderOptions } from "./options.js";
import type { DeciderState } from "./state.js";

// The rule "no replica left acknowledging the old primary" (issue 13).
//
// A semi-sync primary acknowledges a write once ONE replica has it. Promoting B while
// replica A still replicates from the old primary and acks its writes lets both sides
// acknowledge writes: the split {old primary + A} | {Marina + B}. So a promotion completes
// only when every replica that may still acknowledge the old primary is known detached from
// it (its STOP SLAVE succeeded, or what was last seen of it — not older than Marina's own
// last step on it — shows it is not a semi-sync replica of it, or every monitor's connection
// to it is refused: mariadbd not listening) — or the old primary is known unable to
// acknowledge: its mariadbd killed (or found not running) by STONITH through its host's
// agent right before the promotion, every connection to it refused, or fenced by this
// operation. Agent heartbeats alone are not evidence here: up to seconds old, and an agent
// that cannot tell (SSH) reports "not running".
//
// Applied twice with the same function: before a failover starts (with what the samples
// say, so a failover that could only be refused does not start) and before the promotion
// (with what the operation's own steps and STONITH did). Without semi-sync there are no
// acknowledgements to guard and the rule holds trivially (async replication can lose
// writes in any failover; docs/operations.md says so).

/** What is known about the failed primary's ability to acknowledge writes. */
export type OldPrimaryState =
  /** Killed by this operation's STONITH call (or found not running by it). */
  | "killed"
  /** Every monitor's connection to it is refused: mariadbd is not listening. */
  | "down"
  /** Fenced by this operation (read_only, clients killed). */
  | "fenced"
  /** Not known yet, but its agent answers: STONITH will be tried before the promotion. */
  | "stonith-possible"
  | "unknown";

export interface AcknowledgerInput {
  readonly failed: string;
  /** Semi-sync on in the cluster's config (true or "strict"). */
  readonly semiSync: boolean;
  readonly oldPrimary: OldPrimaryState;
  /** Servers that may still be semi-sync replicas of the failed primary, with why. */
  readonly maybeAcknowledging: readonly { server: string; why: string }[];
}

export type AcknowledgerVerdict =
  | { readonly ok: true; readonly reason: string }
  | { readonly ok: false; readonly reason: string; readonly servers: readonly string[] };

const OLD_PRIMARY_SAYS: Record<Exclude<OldPrimaryState, "unknown">, string> = {
  killed: "its mariadbd was killed (STONITH)",
  down: "every connection to it is refused (mariadbd not listening)",
  fenced: "it was fenced",
  "stonith-possible": "its agent answers: it is killed (STONITH) before the promotion",
};

/** The rule itself: pure, table-tested. */
export function acknowledgersSettled(input: AcknowledgerInput): AcknowledgerVerdict {
  const { failed } = input;
  if (!input.semiSync) {
    return { ok: true, reason: "no semi-sync: no replica acknowledges writes" };
  }
  if (input.maybeAcknowledging.length === 0) {
    return { ok: true, reason: `no replica can still acknowledge ${failed}'s writes` };
  }
  if (input.oldPrimary !== "unknown") {
    return {
      ok: true,
      reason: `${failed} cannot acknowledge writes: ${OLD_PRIMARY_SAYS[input.oldPrimary]}`,
    };
  }
  const list = input.maybeAcknowledging.map((m) => `${m.server} (${m.why})`).join(", ");
  return {
    ok: false,
    servers: input.maybeAcknowledging.map((m) => m.server),
    reason: `${list} may still acknowledge ${failed}'s writes as a semi-sync replica, and ${failed} is not known to be stopped or fenced (no agent answers for it): promoting another server could let both acknowledge writes`,
  };
}

/**
 * Every recent sample of every monitor says the connection was refused: the host answers,
 * mariadbd does not listen. (A firewall that REJECTs with a reset would look the same; the
 * lab's partitions, like most, DROP.)
 */
export function refusedByAll(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  now: number,
): boolean {
  const recent = recentSamples(state, config, server, now);
  return (
    recent.length > 0 &&
    recent.every((r) => !r.sample.reachable && r.sample.error?.kind === "refused")
  );
}

/**
 * From the last thing known of a server: whether it may be a semi-sync replica of `failed`
 * with its IO thread running (or nothing current is known of it); null when it cannot be.
 */
export function mayAcknowledge(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  failed: string,
  now: number,
): string | null {
  if (refusedByAll(state, config, server, now)) return null;
  const last: ServerObservation | undefined = state.lastObservation[server]?.observation;
  if (!last) return "never observed";
  if (!observedSinceChange(state, server)) return "changed by Marina since it was last seen";
  // The IO thread reads the slave setting when it connects: either says it may ack.
  if (!last.semiSync.slaveEnabled && !last.semiSync.slaveStatus) return null;
  const links = connectionsTo(config, last, failed).filter((c) => c.ioThread !== "No");
  return links.length > 0 ? "last seen as a semi-sync replica of it" : null;
}

/** The old primary's state before an operation exists. */
export function oldPrimaryBefore(
  state: DeciderState,
  config: ClusterConfig,
  failed: string,
  now: number,
  opts: DeciderOptions,
): OldPrimaryState {
  if (stonithHost(state, config, failed, now, opts) !== null) return "stonith-possible";
  return refusedByAll(state, config, failed, now) ? "down" : "unknown";
}

/**
 * The host whose agent is asked to kill `server`'s mariadbd before a promotion: STONITH is
 * on, the server names an agent host, and that agent's heartbeat was received within
 * `stonithHeartbeatFreshMs` (it answers). Its answer — killed, or not running — is what
 * counts, never the heartbeat itself.
 */
export function stonithHost(
  state: DeciderState,
  config: ClusterConfig,
  server: string,
  now: number,
  opts: DeciderOptions,
): string | null {
  if (!config.failover.stonith) return null;
  const host = serverConfig(config, server)?.agentHost;
  if (!host) return null;
  const rec = state.heartbeats[host];
  if (!rec || now - rec.receivedAt > opts.stonithHeartbeatFreshMs) return null;
  return rec.heartbeat.servers.some((s) => s.name === server) ? host : null;
}

/** Before a failover starts: the servers other than the failed one it will not detach. */
export function acknowledgersBefore(
  state: DeciderState,
  config: ClusterConfig,
  failed: string,
  now: number,
  opts: DeciderOptions,
): AcknowledgerVerdict {
  const maybe: { server: string; why: string }[] = [];
  for (const s of config.servers) {
    if (s.name === failed) continue;
    // A replica not known unreachable is inspected and detached by the failover (if that
    // fails, the check before the promotion refuses, and the attempt counts for the
    // cooldown); one in maintenance is left alone: it counts as last seen.
    if (
      reachability(state, config, s.name, now) !== "unreachable" &&
      state.maintenance[s.name] === undefined
    ) {
      continue;
    }
    const why = mayAcknowledge(state, config, s.name, failed, now);
    if (why !== null) maybe.push({ server: s.name, why: `not detachable now, ${why}` });
  }
  return acknowledgersSettled({
    failed,
    semiSync: config.semiSync !== false,
    oldPrimary: oldPrimaryBefore(state, config, failed, now, opts),
    maybeAcknowledging: maybe,
  });
}
