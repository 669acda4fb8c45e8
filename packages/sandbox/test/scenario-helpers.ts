// Small helpers shared by the failover scenario tests: typed-by-hand commands, SQL checks
// on the lab's nodes, and matchers over what the observer recorded.
import {
  type ClusterEvent,
  type ClusterTopology,
  type CommandReply,
  CommandReplyMessage,
  type CommandVerb,
  HealthMessage,
  type HealthSample,
  type OperationEvent,
  parseMessage,
  type Situation,
  subjects,
} from "@marina/contracts";
import type { MariaNode } from "@marina/lab";
import { replicaStatus, sleep, waitFor } from "@marina/lab";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Observed, Observer } from "../src/observer.js";

export type Row = Record<string, unknown>;
export type TopologySeen = Extract<Observed, { kind: "topology" }>;
export type EventSeen = Extract<Observed, { kind: "event" }>;
export type OperationSeen = Extract<Observed, { kind: "operation" }>;

/** Sends a command body exactly as a person would type it (raw JSON text) and parses the reply. */
export async function command(
  nc: NatsConnection,
  verb: CommandVerb,
  body: string,
  cluster = "main",
): Promise<CommandReply> {
  const msg = await nc.request(subjects.cmd(cluster, verb), body, { timeout: 15_000 });
  const r = parseMessage(CommandReplyMessage, msg.data);
  if (!r.ok) throw new Error(`bad reply to ${verb}: ${r.error.message}: ${msg.string()}`);
  return r.value.payload;
}

/** The `status` command's data (throws when refused). */
export async function status(nc: NatsConnection, cluster = "main"): Promise<Row> {
  const r = await command(nc, "status", "{}", cluster);
  if (!r.ok) throw new Error(`status refused: ${r.error.code} ${r.error.message}`);
  return r.data ?? {};
}

/** Waits until the leading decider reports `name` as the primary (robust to a missed publish). */
export async function waitPrimary(
  nc: NatsConnection,
  name: string,
  timeoutMs = 30_000,
  cluster = "main",
): Promise<void> {
  await waitFor(
    async () => {
      try {
        return (await status(nc, cluster)).primary === name;
      } catch {
        return false;
      }
    },
    { timeoutMs, message: `decider of ${cluster} reporting ${name} as primary` },
  );
}

// Marina's fences kill client sessions, privileged ones included, so checks on a server it
// may fence use a fresh root connection per query, and try again when that connection is
// killed under them (a fatal connector error) rather than failing the test.
const FRESH = { timeoutMs: 5_000 };

function killedUnderUs(err: unknown): boolean {
  const e = err as { fatal?: boolean; code?: string; errno?: number };
  return (
    e.fatal === true ||
    e.errno === 1927 ||
    /EPIPE|ECONNRESET|SOCKET_UNEXPECTED_CLOSE|CONNECTION_KILLED/.test(e.code ?? "")
  );
}

async function ask<T>(node: MariaNode, sql: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await node.query(sql, [], FRESH)) as T;
    } catch (err) {
      if (!killedUnderUs(err) || attempt >= 5) throw err;
      await sleep(100);
    }
  }
}

export async function slaves(node: MariaNode): Promise<Row[]> {
  return ask<Row[]>(node, "SHOW ALL SLAVES STATUS");
}

export async function readOnly(node: MariaNode): Promise<boolean> {
  const [r] = await ask<Array<{ ro: number }>>(node, "SELECT @@global.read_only AS ro");
  return Number(r?.ro) === 1;
}

export async function binlogPos(node: MariaNode): Promise<string> {
  const [r] = await ask<Array<{ p: string }>>(node, "SELECT @@global.gtid_binlog_pos AS p");
  return String(r?.p ?? "");
}

export async function binlogState(node: MariaNode): Promise<string> {
  const [r] = await ask<Array<{ p: string }>>(node, "SELECT @@global.gtid_binlog_state AS p");
  return String(r?.p ?? "");
}

export const isTopology =
  (pred: (t: ClusterTopology) => boolean) =>
  (o: Observed): o is TopologySeen =>
    o.kind === "topology" && pred(o.topology);

export const isEvent =
  (situation: Situation, server?: string, pred: (e: ClusterEvent) => boolean = () => true) =>
  (o: Observed): o is EventSeen =>
    o.kind === "event" &&
    o.event.situation === situation &&
    (server === undefined || o.event.server === server) &&
    pred(o.event);

export const isOperation =
  (pred: (op: OperationEvent) => boolean) =>
  (o: Observed): o is OperationSeen =>
    o.kind === "operation" && pred(o.operation);

/** A topology whose primary is neither of `not` and that names a writer. */
export const newPrimary = (...not: string[]) =>
  isTopology((t) => t.primary !== null && !not.includes(t.primary) && t.writer !== null);

export function roleOf(t: ClusterTopology, server: string): string | undefined {
  return t.servers.find((s) => s.name === server)?.role;
}

/** Distinct failover operation ids seen. */
export function failoverOps(obs: Observer): string[] {
  return [
    ...new Set(
      obs
        .operations()
        .filter((o) => o.kind === "failover")
        .map((o) => o.opId),
    ),
  ];
}

export { topologyWriter } from "../src/scenarios/topology-writer.js";

/**
 * Every published topology names at most one writer and at most one primary role: the
 * "never two writable primaries" invariant as other systems see it.
 */
export function topologiesWithTwoPrimaries(obs: Observer): ClusterTopology[] {
  return obs.topologies().filter((t) => t.servers.filter((s) => s.role === "primary").length > 1);
}

/** Health samples of one server, as published, from now on (for "it stayed so for a while"). */
export interface HealthLog {
  readonly samples: HealthSample[];
  /** Resolves once `n` samples matching `pred` arrived since the call. */
  waitCount(n: number, pred: (s: HealthSample) => boolean, timeoutMs: number): Promise<void>;
  close(): void;
}

export function healthLog(nc: NatsConnection, server: string, cluster = "main"): HealthLog {
  const samples: HealthSample[] = [];
  const sub = nc.subscribe(subjects.health(cluster, server), {
    callback: (_e, m) => {
      const r = parseMessage(HealthMessage, m.data);
      if (r.ok) samples.push(r.value.payload);
    },
  });
  return {
    samples,
    async waitCount(n, pred, timeoutMs) {
      const from = samples.length;
      await waitFor(() => samples.slice(from).filter(pred).length >= n, {
        timeoutMs,
        message: `${n} health samples of ${server} matching`,
      });
    },
    close: () => sub.unsubscribe(),
  };
}

/** Replication of every connection of `node` runs (IO connected, SQL running, no error). */
export async function replicating(node: MariaNode): Promise<boolean> {
  try {
    const s = await replicaStatus(node);
    return (
      s.length > 0 &&
      s.every((c) => c.ioRunning === "Yes" && c.sqlRunning === "Yes" && !c.lastSqlErrno)
    );
  } catch {
    return false;
  }
}

/** Matches the final event (not `running`) of operation `opId`. */
export const opEnded =
  (opId: string) =>
  (o: Observed): o is OperationSeen =>
    o.kind === "operation" && o.operation.opId === opId && o.operation.state !== "running";
