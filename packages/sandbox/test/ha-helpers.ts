// Shared pieces of the sandbox's end-to-end tests: a writer target that follows the published
// topology, line logs of child processes, a recorder of exec requests and results, the
// leader lease as it is in KV, and "which process holds a connection to this port".
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import {
  type CommandReply,
  CommandReplyMessage,
  type ExecRequest,
  ExecRequestMessage,
  type ExecResult,
  ExecResultMessage,
  HealthMessage,
  type HealthSample,
  LEASE_BUCKET,
  parseMessage,
  subjects,
} from "@marina/contracts";
import { type Lab, type MariaNode, waitFor } from "@marina/lab";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Observed, Observer } from "../src/observer.js";
import { serviceMain } from "../src/stack.js";

/** The writer's target: the server the latest published topology names as writer. */
export interface WriterTarget {
  readonly name: string;
  node(): MariaNode;
  /** Feed every observed record (observe(nc, cluster, target.onRecord)). */
  onRecord(o: Observed): void;
}

export function followTopologyWriter(lab: Lab, initial: string): WriterTarget {
  let current = initial;
  return {
    get name() {
      return current;
    },
    node: () => lab.node(current),
    onRecord(o) {
      if (o.kind === "topology" && o.topology.writer) current = o.topology.writer.server;
    },
  };
}

/** Sends a command the way a person would (bare JSON payload) and parses the reply. */
export async function command(
  nc: NatsConnection,
  verb: string,
  payload: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<CommandReply> {
  const m = await nc.request(`marina.v1.main.cmd.${verb}`, JSON.stringify(payload), {
    timeout: timeoutMs,
  });
  const r = parseMessage(CommandReplyMessage, m.data);
  if (!r.ok) throw new Error(`invalid command reply: ${r.error.message}: ${m.string()}`);
  return r.value.payload;
}

/** The final event of one operation. */
export async function operationResult(obs: Observer, opId: string, timeoutMs: number) {
  const o = await obs.waitFor(
    (x) => x.kind === "operation" && x.operation.opId === opId && x.operation.state !== "running",
    timeoutMs,
    `the result of ${opId}`,
  );
  if (o.kind !== "operation") throw new Error("unreachable");
  return o.operation;
}

export function topologyWith(
  obs: Observer,
  pred: (t: Extract<Observed, { kind: "topology" }>["topology"]) => boolean,
  timeoutMs: number,
  what: string,
) {
  return obs
    .waitFor((o) => o.kind === "topology" && pred(o.topology), timeoutMs, what)
    .then((o) => (o.kind === "topology" ? o.topology : (undefined as never)));
}

export type Row = Record<string, unknown>;

export async function slaves(node: MariaNode): Promise<Row[]> {
  return (await node.query("SHOW ALL SLAVES STATUS")) as Row[];
}

export async function readOnlyOf(node: MariaNode): Promise<number> {
  const [r] = (await node.query("SELECT @@read_only AS ro")) as Array<{ ro: number }>;
  return Number(r?.ro);
}

/** True when `replica` has exactly one connection, to `source`, with both threads running. */
export async function replicatesFrom(replica: MariaNode, source: MariaNode): Promise<boolean> {
  const rows = await slaves(replica);
  return (
    rows.length === 1 &&
    rows[0]!.Master_Host === source.replicationHost &&
    rows[0]!.Master_Port === source.replicationPort &&
    rows[0]!.Slave_IO_Running === "Yes" &&
    rows[0]!.Slave_SQL_Running === "Yes"
  );
}

/** Ids written (by the lab writer) on each node, read from `node`'s copy of the table. */
export async function idsByWriterNode(node: MariaNode): Promise<Map<string, number[]>> {
  const rows = (await node.query("SELECT id, node FROM app.lab_writer ORDER BY id")) as Array<{
    id: number | bigint;
    node: string;
  }>;
  const out = new Map<string, number[]>();
  for (const r of rows) {
    const l = out.get(r.node) ?? [];
    l.push(Number(r.id));
    out.set(r.node, l);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Child processes

export interface LogLine {
  at: number;
  text: string;
  json: Record<string, unknown> | null;
}

export interface ProcLog {
  readonly lines: LogLine[];
  /** Resolves with the first line (seen or future) matching. */
  waitFor(match: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine>;
  tail(n?: number): string;
}

/** Collects a child's stdout and stderr line by line (which also keeps its pipes drained). */
export function collectLines(child: ChildProcess): ProcLog {
  const lines: LogLine[] = [];
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  const feed = (stream: NodeJS.ReadableStream | null) => {
    if (!stream) return;
    let buf = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const text = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let json: Record<string, unknown> | null = null;
        try {
          const v: unknown = JSON.parse(text);
          if (v && typeof v === "object") json = v as Record<string, unknown>;
        } catch {
          // not a JSON log line
        }
        const line = { at: performance.now(), text, json };
        lines.push(line);
        for (const w of waiters) if (w.match(line)) w.resolve(line);
      }
    });
  };
  feed(child.stdout);
  feed(child.stderr);
  return {
    lines,
    waitFor(match, timeoutMs, what) {
      const hit = lines.find(match);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = {
          match,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            waiters.delete(w);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    tail(n = 20) {
      return lines
        .slice(-n)
        .map((l) => l.text)
        .join("\n");
    },
  };
}

export interface Spawned {
  id: string;
  child: ChildProcess;
  log: ProcLog;
  readonly pid: number;
  alive(): boolean;
  signal(sig: NodeJS.Signals): void;
  exited(): Promise<void>;
}

export function wrapChild(id: string, child: ChildProcess): Spawned {
  const log = collectLines(child);
  const exit = new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r();
    else child.once("exit", () => r());
  });
  return {
    id,
    child,
    log,
    get pid() {
      return child.pid ?? -1;
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    signal(sig) {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    exited: () => exit,
  };
}

/** An executor as its own OS process; its command line carries the lab's config path. */
export function spawnExecutor(configFile: string, id: string): Spawned {
  const child = spawn(
    process.execPath,
    [serviceMain("@marina/executor"), "--config", configFile, "--id", id],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "info" } },
  );
  return wrapChild(id, child);
}

/** SIGCONT + SIGKILL every child still alive and waits for their exit. */
export async function killAll(children: readonly Spawned[]): Promise<void> {
  for (const c of children) {
    c.signal("SIGCONT");
    c.signal("SIGKILL");
  }
  await Promise.all(
    children.map((c) => Promise.race([c.exited(), new Promise((r) => setTimeout(r, 5_000))])),
  );
}

/** Whether a decider's log says it became (or stopped being) the leader, and its epoch. */
export function leadershipLines(p: Spawned): Array<{ at: number; leader: boolean; epoch: number }> {
  return p.log.lines.flatMap((l) =>
    l.json && typeof l.json.leader === "boolean" && typeof l.json.epoch === "number"
      ? [{ at: l.at, leader: l.json.leader, epoch: l.json.epoch }]
      : [],
  );
}

// ---------------------------------------------------------------------------------------
// Lease, exec traffic, health

export interface LeaseView {
  holder: string;
  epoch: number;
}

/** The lease record in KV `marina_leader/<cluster>` (undefined when absent or expired). */
export async function readLease(
  nc: NatsConnection,
  cluster = "main",
): Promise<LeaseView | undefined> {
  const jsm = await jetstreamManager(nc);
  const m = await jsm.streams
    .getMessage(`KV_${LEASE_BUCKET}`, { last_by_subj: `$KV.${LEASE_BUCKET}.${cluster}` })
    .catch(() => null);
  if (!m || m.data.length === 0) return undefined;
  try {
    const v = m.json<Partial<LeaseView>>();
    return typeof v.epoch === "number" && typeof v.holder === "string"
      ? { holder: v.holder, epoch: v.epoch }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until `holder` holds the cluster's lease, and returns it. */
export function waitLeaseHolder(
  nc: NatsConnection,
  holder: string,
  timeoutMs = 20_000,
): Promise<LeaseView> {
  return waitFor(
    async () => {
      const l = await readLease(nc);
      return l && l.holder === holder ? l : undefined;
    },
    { timeoutMs, message: `${holder} holding the lease` },
  );
}

export interface SeenExec {
  at: number;
  request: ExecRequest;
  source: string;
  /** The inbox the result of this very request goes to (a step id can be sent again). */
  reply: string | undefined;
}

export interface ExecRecorder {
  readonly requests: SeenExec[];
  /** Results by stepId (every reply seen, in order). */
  readonly results: Map<string, ExecResult[]>;
  /** Results by the inbox they were sent to: the answer to one request. */
  readonly resultsByInbox: Map<string, ExecResult[]>;
  waitForRequest(
    match: (r: SeenExec) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<SeenExec>;
  close(): void;
}

/**
 * Records every exec request (a plain subscription gets a copy of what the queue group
 * gets) and every exec result (replies travel on inboxes: `_INBOX.>` sees them all).
 */
export function recordExec(nc: NatsConnection, cluster = "main"): ExecRecorder {
  const requests: SeenExec[] = [];
  const results = new Map<string, ExecResult[]>();
  const resultsByInbox = new Map<string, ExecResult[]>();
  const waiters = new Set<{ match: (r: SeenExec) => boolean; resolve: (r: SeenExec) => void }>();
  const subs: Subscription[] = [
    nc.subscribe(subjects.exec(cluster), {
      callback: (_e, m) => {
        const r = parseMessage(ExecRequestMessage, m.data);
        if (!r.ok) return;
        const seen = {
          at: performance.now(),
          request: r.value.payload,
          source: r.value.source,
          reply: m.reply,
        };
        requests.push(seen);
        for (const w of waiters) if (w.match(seen)) w.resolve(seen);
      },
    }),
    nc.subscribe("_INBOX.>", {
      callback: (_e, m) => {
        const r = parseMessage(ExecResultMessage, m.data);
        if (!r.ok) return;
        const l = results.get(r.value.payload.stepId) ?? [];
        l.push(r.value.payload);
        results.set(r.value.payload.stepId, l);
        const byInbox = resultsByInbox.get(m.subject) ?? [];
        byInbox.push(r.value.payload);
        resultsByInbox.set(m.subject, byInbox);
      },
    }),
  ];
  return {
    requests,
    results,
    resultsByInbox,
    waitForRequest(match, timeoutMs, what) {
      const hit = requests.find(match);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = {
          match,
          resolve: (r: SeenExec) => {
            clearTimeout(timer);
            waiters.delete(w);
            resolve(r);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    close() {
      for (const s of subs) s.unsubscribe();
    },
  };
}

/** Resolves with the first health sample of `server` that matches. */
export function waitForHealth(
  nc: NatsConnection,
  server: string,
  match: (s: HealthSample) => boolean,
  timeoutMs: number,
  cluster = "main",
): Promise<HealthSample> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for a health sample of ${server}`));
    }, timeoutMs);
    const sub = nc.subscribe(subjects.health(cluster, server), {
      callback: (_e, m) => {
        const r = parseMessage(HealthMessage, m.data);
        if (r.ok && match(r.value.payload)) {
          clearTimeout(timer);
          sub.unsubscribe();
          resolve(r.value.payload);
        }
      },
    });
  });
}

// ---------------------------------------------------------------------------------------
// Which process is talking to a server right now

/** Socket inodes of established TCP connections to 127.0.0.1:`port` (from /proc/net/tcp). */
function socketInodesTo(port: number): Set<string> {
  const out = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode
      if (f.length < 10) continue;
      if (f[2]?.split(":")[1] === hexPort && f[3] === "01") out.add(f[9]!);
    }
  }
  return out;
}

/** The pids among `pids` holding an established connection to 127.0.0.1:`port`. */
export function pidsConnectedTo(port: number, pids: readonly number[]): number[] {
  const inodes = socketInodesTo(port);
  if (inodes.size === 0) return [];
  return pids.filter((pid) => {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      return false;
    }
    return fds.some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m !== null && inodes.has(m[1]!);
      } catch {
        return false;
      }
    });
  });
}

/**
 * Waits until the monitor has reported, twice, that each of `replicas` replicates from
 * `source` (a port, or host and port) with both threads running: the decider (which gets samples in order) then knows
 * it too. Its knowledge otherwise lags the servers by up to one probe interval.
 */
export async function waitForReplicaSamples(
  nc: NatsConnection,
  replicas: readonly string[],
  source: number | { host: string; port: number },
  timeoutMs = 15_000,
): Promise<void> {
  const { host, port } = typeof source === "number" ? { host: undefined, port: source } : source;
  const ok = (s: HealthSample) => {
    const r = s.observation?.replication ?? [];
    return (
      r.length === 1 &&
      r[0]!.masterPort === port &&
      (host === undefined || r[0]!.masterHost === host) &&
      r[0]!.ioThread === "Yes" &&
      r[0]!.sqlThread
    );
  };
  await Promise.all(
    replicas.map(async (name) => {
      const first = await waitForHealth(nc, name, ok, timeoutMs);
      await waitForHealth(nc, name, (s) => ok(s) && s.probe > first.probe, timeoutMs);
    }),
  );
}

/** Where a stream lives now: its leader and the replicas that are current. */
export async function streamPlacement(
  nc: NatsConnection,
  stream: string,
): Promise<{ leader: string | undefined; current: string[] }> {
  const info = await (await jetstreamManager(nc, { timeout: 2_000 })).streams.info(stream);
  const c = info.cluster;
  return {
    leader: c?.leader,
    current: [
      ...(c?.leader ? [c.leader] : []),
      ...(c?.replicas ?? []).filter((r) => r.current).map((r) => r.name),
    ],
  };
}

/**
 * Moves `stream`'s leadership to NATS node `name` (stepping the leader down until the
 * election lands there): the test then knows the worst case it is in.
 */
export async function streamLeadOn(
  nc: NatsConnection,
  stream: string,
  name: string,
): Promise<void> {
  await waitFor(
    async () => {
      const { leader } = await streamPlacement(nc, stream).catch(() => ({ leader: undefined }));
      if (leader === name) return true;
      if (leader !== undefined) {
        await nc
          .request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 2_000 })
          .catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 500));
      return false;
    },
    { timeoutMs: 60_000, message: `${stream} led by ${name}` },
  );
}
