// pnpm bench switchover [--trials N] [--semi-sync false] [--interval-ms 500]
//
// Planned switchovers on one stack (lab + monitor + 2 executors + decider), alternating
// db1 → db2 and db2 → db1, with clients writing continuously as the non-SUPER `app` user:
//   - a topology client writes where the latest published topology names the writer;
//   - a probing client tries the server it last wrote on and, when refused, the others
//     (what the databases allow, whatever is published).
// Per trial: the write-unavailability window of each client (last acknowledged write on the
// old primary → first acknowledged write on the new one), the total switchover time
// (request → operation succeeded), when the new writer was published, and the operation's
// own phase timings.
import { parseArgs } from "node:util";
import {
  CommandReplyMessage,
  type ExecRequest,
  ExecRequestMessage,
  type ExecResult,
  ExecResultMessage,
  type OperationEvent,
  parseMessage,
  subjects,
} from "@marina/contracts";
import { defaultOptions } from "@marina/decider-core";
import { type Connection, type MariaNode, sleep, waitFor } from "@marina/lab";
import { stat, writeBenchReport } from "@marina/lab/bench";
import { type Observer, observe, type Stack, startStack } from "@marina/sandbox";
import type { NatsConnection } from "@nats-io/transport-node";

interface Ack {
  id: number;
  node: string;
  at: number;
}

interface BenchClient {
  readonly acks: Ack[];
  readonly failures: number;
  stop(): Promise<void>;
}

const TABLE = "bench_switchover";

/**
 * A client writing one row at a time, one connection per server. `pick(lastOk, failed)`
 * names the server for the next write; a failed write drops that server's connection.
 */
function startClient(
  nodes: readonly MariaNode[],
  label: string,
  pick: (lastOk: string | null, failed: string | null) => string,
  intervalMs: number,
): BenchClient {
  const acks: Ack[] = [];
  const conns = new Map<string, Connection>();
  let failures = 0;
  let stopped = false;
  let nextId = 1;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const loop = async () => {
    let lastOk: string | null = null;
    let failed: string | null = null;
    while (!stopped) {
      const name = pick(lastOk, failed);
      const node = byName.get(name)!;
      const id = nextId++;
      try {
        let c = conns.get(name);
        if (!c?.isValid()) {
          c?.destroy();
          c = await node.connect({ user: "app", connectTimeoutMs: 1000, socketTimeoutMs: 5000 });
          c.on("error", () => {});
          conns.set(name, c);
        }
        await c.query(`INSERT INTO app.${TABLE} (id, client, node) VALUES (?, ?, ?)`, [
          id,
          label,
          name,
        ]);
        acks.push({ id, node: name, at: performance.now() });
        lastOk = name;
        failed = null;
      } catch {
        failures++;
        failed = name;
        conns.get(name)?.destroy();
        conns.delete(name);
      }
      if (intervalMs > 0) await sleep(intervalMs);
    }
  };
  const running = loop();
  return {
    acks,
    get failures() {
      return failures;
    },
    async stop() {
      stopped = true;
      await running;
      for (const c of conns.values()) c.destroy();
    },
  };
}

interface Traced {
  request: ExecRequest;
  sentAt: number;
  result?: ExecResult;
  repliedAt?: number;
}

/**
 * Every exec request (a plain subscription gets a copy of what the queue group gets) and
 * its result (replies travel on inboxes, `_INBOX.>` sees them), with arrival times.
 */
function traceExec(nc: NatsConnection) {
  const byStep = new Map<string, Traced>();
  const subs = [
    nc.subscribe(subjects.exec("main"), {
      callback: (_e, m) => {
        const r = parseMessage(ExecRequestMessage, m.data);
        if (r.ok)
          byStep.set(r.value.payload.stepId, {
            request: r.value.payload,
            sentAt: performance.now(),
          });
      },
    }),
    nc.subscribe("_INBOX.>", {
      callback: (_e, m) => {
        const r = parseMessage(ExecResultMessage, m.data);
        const t = r.ok ? byStep.get(r.value.payload.stepId) : undefined;
        if (r.ok && t && !t.result) {
          t.result = r.value.payload;
          t.repliedAt = performance.now();
        }
      },
    }),
  ];
  return {
    ofOp: (opId: string) =>
      [...byStep.values()]
        .filter((t) => t.request.opId === opId)
        .sort((a, b) => a.sentAt - b.sentAt),
    close: () => {
      for (const s of subs) s.unsubscribe();
    },
  };
}

/**
 * Where the time goes until the target is writable (the steps up to it run one after the
 * other): in the executors (step durationMs), in transit (NATS + executor admission), and
 * in the decider between a result and the next request (decide + state persisted in KV).
 */
function criticalPath(steps: readonly Traced[]) {
  const end = steps.findIndex(
    (t) => t.request.step.kind === "set-read-only" && !t.request.step.readOnly,
  );
  if (end < 0) return null;
  let executor = 0;
  let transit = 0;
  let decider = 0;
  let prevReply: number | undefined;
  for (const t of steps.slice(0, end + 1)) {
    if (!t.result || t.repliedAt === undefined) return null;
    executor += t.result.durationMs;
    transit += t.repliedAt - t.sentAt - t.result.durationMs;
    if (prevReply !== undefined) decider += Math.max(0, t.sentAt - prevReply);
    prevReply = Math.max(prevReply ?? 0, t.repliedAt);
  }
  return { executor, transit, decider, steps: end + 1 };
}

/** Last ack on `from` before the first ack on `to` after `since`, and that first ack. */
function windowOf(acks: readonly Ack[], from: string, to: string, since: number) {
  const firstNew = acks.find((a) => a.node === to && a.at > since);
  if (!firstNew) return null;
  let lastOld: Ack | undefined;
  for (const a of acks) {
    if (a.at >= firstNew.at) break;
    if (a.node === from) lastOld = a;
  }
  return lastOld
    ? { lastOld: lastOld.at, firstNew: firstNew.at, ms: firstNew.at - lastOld.at }
    : null;
}

async function requestSwitchover(stack: Stack, target: string, deadlineMs: number) {
  const deadline = performance.now() + deadlineMs;
  const refusals: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const sentAt = performance.now();
    const m = await stack.nc.request("marina.v1.main.cmd.switchover", JSON.stringify({ target }), {
      timeout: 60_000,
    });
    const parsed = parseMessage(CommandReplyMessage, m.data);
    if (!parsed.ok) throw new Error(`invalid command reply: ${parsed.error.message}`);
    const reply = parsed.value.payload;
    if (reply.ok && reply.opId) return { opId: reply.opId, sentAt, attempts: attempt, refusals };
    if (!reply.ok) refusals.push(`${reply.error.code}: ${reply.error.message}`);
    // Right after a switchover the decider may still hold pre-repoint samples of the
    // replicas (up to one probe interval): such a refusal is tried again.
    const again =
      !reply.ok && (reply.error.retryable || reply.error.code === "TARGET_NOT_ELIGIBLE");
    if (!again || performance.now() > deadline) {
      throw new Error(`switchover to ${target} refused: ${JSON.stringify(reply)}`);
    }
    await sleep(100);
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      trials: { type: "string", default: "10" },
      "semi-sync": { type: "string", default: "true" },
      "interval-ms": { type: "string", default: "500" },
      "write-interval-ms": { type: "string", default: "5" },
    },
  });
  const trials = Math.max(1, Number(values.trials));
  const semiSync = values["semi-sync"] !== "false";
  const probeIntervalMs = Number(values["interval-ms"]);
  const writeIntervalMs = Number(values["write-interval-ms"]);

  const stack = await startStack({
    lab: { semiSync, nodes: 3 },
    config: { monitor: { intervalMs: probeIntervalMs } },
  });
  let obs: Observer | undefined;
  const clients: BenchClient[] = [];
  const closers: Array<() => void> = [];
  const onSignal = () => {
    void stack.close().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const { lab } = stack;
    let published = "db1";
    obs = observe(stack.nc, "main", (o) => {
      if (o.kind === "topology" && o.topology.writer) published = o.topology.writer.server;
    });
    await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.writer?.server === "db1",
      30_000,
      "db1 as writer",
    );
    await lab
      .node("db1")
      .query(
        `CREATE TABLE IF NOT EXISTS app.${TABLE} (id BIGINT UNSIGNED NOT NULL, client VARCHAR(16) NOT NULL, ` +
          "node VARCHAR(64) NOT NULL, PRIMARY KEY (client, id)) ENGINE=InnoDB",
      );
    const tracer = traceExec(stack.nc);
    closers.push(() => tracer.close());
    const names = lab.nodes.map((n) => n.name);
    const topo = startClient(lab.nodes, "topology", () => published, writeIntervalMs);
    const probe = startClient(
      lab.nodes,
      "probe",
      (lastOk, failed) => {
        if (failed === null) return lastOk ?? "db1";
        return names[(names.indexOf(failed) + 1) % names.length]!;
      },
      writeIntervalMs,
    );
    clients.push(topo, probe);
    await waitFor(() => topo.acks.length >= 50 && probe.acks.length >= 50, 20_000);

    const series: Record<string, number[]> = {};
    const add = (k: string, v: number) => {
      const l = series[k] ?? [];
      l.push(v);
      series[k] = l;
    };
    const failedTrials: string[] = [];
    let retries = 0;
    const refusalSeen: string[] = [];
    let current = "db1";
    for (let i = 0; i < trials; i++) {
      const to = current === "db1" ? "db2" : "db1";
      const from = current;
      const req = await requestSwitchover(stack, to, 30_000);
      retries += req.attempts - 1;
      if (req.refusals[0] && refusalSeen.length < 3) refusalSeen.push(req.refusals[0]);
      const result = await obs.waitFor(
        (o) =>
          o.kind === "operation" &&
          o.operation.opId === req.opId &&
          o.operation.state !== "running",
        60_000,
        `result of ${req.opId}`,
      );
      const op = (result.kind === "operation" ? result.operation : null) as OperationEvent;
      if (op.state !== "succeeded") {
        failedTrials.push(`${from}→${to}: ${op.state}: ${op.message}`);
        console.error(`trial ${i + 1} ${from}→${to} ${op.state}: ${op.message}`);
        break;
      }
      const writerSeen = obs.seen.find(
        (o) => o.at >= req.sentAt && o.kind === "topology" && o.topology.writer?.server === to,
      );
      await waitFor(
        () =>
          topo.acks.some((a) => a.node === to && a.at > req.sentAt) &&
          probe.acks.some((a) => a.node === to && a.at > req.sentAt),
        20_000,
      );
      const wt = windowOf(topo.acks, from, to, req.sentAt);
      const wp = windowOf(probe.acks, from, to, req.sentAt);
      add("switchover.total_ms", result.at - req.sentAt);
      if (wt) add("switchover.window_topology_client_ms", wt.ms);
      if (wp) add("switchover.window_probing_client_ms", wp.ms);
      if (writerSeen) add("switchover.new_writer_published_ms", writerSeen.at - req.sentAt);
      if (wt) add("switchover.first_write_on_new_ms", wt.firstNew - req.sentAt);
      for (const [phase, ms] of Object.entries(op.timings)) {
        if (phase !== "total") add(`switchover.phase_${phase}_ms`, ms);
      }
      const steps = tracer.ofOp(req.opId);
      for (const t of steps) {
        if (t.result && t.request.server === from && t.request.step.kind === "wait-binlog-stable") {
          add("switchover.step_wait-binlog-stable_ms", t.result.durationMs);
        }
      }
      const path = criticalPath(steps);
      if (path) {
        add("switchover.until_writable_executor_ms", path.executor);
        add("switchover.until_writable_transit_ms", path.transit);
        add("switchover.until_writable_decider_ms", path.decider);
      }
      console.log(
        `trial ${String(i + 1).padStart(2)} ${from}→${to}: total ${Math.round(result.at - req.sentAt)} ms, ` +
          `window topology ${wt ? Math.round(wt.ms) : "?"} ms, probing ${wp ? Math.round(wp.ms) : "?"} ms; ` +
          `phases ${JSON.stringify(op.timings)}`,
      );
      current = to;
      // some writes on the new primary before the next trial
      const n = topo.acks.length;
      await waitFor(() => topo.acks.length >= n + 50, 20_000);
    }
    for (const c of clients) await c.stop();

    const metrics = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, stat(v, "ms")]));
    const done = series["switchover.total_ms"]?.length ?? 0;
    writeBenchReport({
      name: "switchover",
      settings: {
        semiSync,
        probeIntervalMs,
        writeIntervalMs,
        nodes: 3,
        executors: 2,
        deciders: 1,
        binlogStableMs: defaultOptions.binlogStableMs,
      },
      trials: done,
      metrics,
      notes: [
        "window = last acknowledged write on the old primary -> first on the new one, client-side clock",
        "topology client writes where the published topology names the writer; probing client tries the others when refused",
        `switchover requests refused right after the previous trial (the decider still held pre-repoint samples) and retried: ${retries}${refusalSeen.length ? `, e.g. ${refusalSeen.join(" | ")}` : ""}`,
        `failed writes: topology client ${topo.failures}, probing client ${probe.failures}`,
        ...failedTrials.map((t) => `FAILED ${t}`),
      ],
    });
    if (failedTrials.length > 0) process.exitCode = 1;
  } finally {
    for (const c of clients) await c.stop().catch(() => {});
    for (const c of closers) c();
    obs?.close();
    await stack.close();
  }
}

// Exit once torn down: a lab timer (waitForSuccess's 60 s race in @marina/lab process.ts,
// never cleared) would otherwise keep the process alive for a minute.
main().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(`switchover bench: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
