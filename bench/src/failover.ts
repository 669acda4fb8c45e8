// pnpm bench failover [--trials N] [--cases kill9,sigstop] [--semi-sync both|true|false]
//
// Automatic failover of the primary at DEFAULT Marina settings (probe interval 500 ms,
// queryTimeoutMs 1000, replicaQuietMs 3000, ...), one fresh stack per trial (lab of 3 nodes
// + monitor + 2 executors + decider), kill -9 and SIGSTOP trials interleaved, with
// semi-sync AFTER_SYNC (metrics `kill9.*`, `sigstop.*`) and without (`*_async.*`). A client
// writes continuously as the non-SUPER `app` user where the latest published topology names
// the writer (it drops an in-flight write on the old primary as soon as the topology moves).
// Per trial, from the fault:
//   detection  fault → first health sample of db1 with reachable=false (marina.v1.main.health.db1)
//   decision   that sample → the failover operation's first `running` event
//   execution  `running` → the first topology naming a new writer
//   client     that topology → the client's first acknowledged write on the new primary
//   total      fault → that write (the sum of the above)
//   write_gap  last acknowledged write on db1 → first on the new primary
// plus the operation's own phase timings, and for SIGSTOP: after the failover, SIGCONT →
// db1 seen read_only=1 (how long a thawed old primary stays writable), and whether it was
// rejoined or flagged diverged.
import { parseArgs } from "node:util";
import {
  type ClusterTopology,
  HealthMessage,
  type OperationEvent,
  parseMessage,
  subjects,
} from "@marina/contracts";
import { type Connection, type MariaNode, sleep, waitFor } from "@marina/lab";
import { type Stat, stat, writeBenchReport } from "@marina/lab/bench";
import { type Observed, observe, type Stack, startStack } from "@marina/sandbox";
import { clusterStatus } from "./lib/status.js";
import { trialLog } from "./lib/trial-log.js";

type Case = "kill9" | "sigstop";

interface Ack {
  node: string;
  at: number;
}

interface TrialResult {
  case: Case;
  newPrimary: string;
  detectionMs: number;
  decisionMs: number;
  executionMs: number;
  clientMs: number;
  totalMs: number;
  writeGapMs: number;
  opTimings: Record<string, number>;
  thawToReadOnlyMs: number | null;
  thawOutcome: string | null;
}

const TABLE = "bench_failover";
const STEP_TIMEOUT_MS = 30_000;

/**
 * A client that writes one row at a time where it is told to. `follow(name)` switches it:
 * the write in flight (possibly stuck on a frozen server) is abandoned at once.
 */
function startFollowingClient(lab: Stack["lab"], initial: string) {
  const acks: Ack[] = [];
  let failures = 0;
  let target = initial;
  let conn: Connection | undefined;
  let connNode: string | undefined;
  let stopped = false;
  let nextId = 1;
  let bump: () => void = () => {};
  let switched = new Promise<void>((r) => {
    bump = r;
  });

  const follow = (name: string) => {
    if (name === target) return;
    target = name;
    const c = conn;
    conn = undefined;
    c?.destroy();
    const wake = bump;
    switched = new Promise<void>((r) => {
      bump = r;
    });
    wake();
  };

  const writeOnce = async (node: MariaNode, id: number) => {
    if (!conn || connNode !== node.name || !conn.isValid()) {
      conn?.destroy();
      conn = undefined;
      const c = await node.connect({ user: "app", connectTimeoutMs: 500, socketTimeoutMs: 2000 });
      c.on("error", () => {});
      if (target !== node.name || stopped) {
        c.destroy();
        throw new Error("target changed while connecting");
      }
      conn = c;
      connNode = node.name;
    }
    await conn.query(`INSERT INTO app.${TABLE} (id, node) VALUES (?, ?)`, [id, node.name]);
  };

  const loop = async () => {
    while (!stopped) {
      const node = lab.node(target);
      const attempt = writeOnce(node, nextId++);
      const outcome = await Promise.race([
        attempt.then(
          () => "ok" as const,
          () => "failed" as const,
        ),
        switched.then(() => "switched" as const),
      ]);
      if (outcome === "ok") acks.push({ node: node.name, at: performance.now() });
      else {
        failures++;
        if (outcome === "failed") {
          conn?.destroy();
          conn = undefined;
        }
      }
      await sleep(outcome === "ok" ? 1 : 2);
    }
  };
  const running = loop();
  return {
    acks,
    follow,
    get failures() {
      return failures;
    },
    async stop() {
      stopped = true;
      follow(`${target}-stopped`);
      await running;
      conn?.destroy();
    },
  };
}

async function readOnly(node: MariaNode): Promise<boolean> {
  const rows = (await node.query("SELECT @@global.read_only AS ro", [], {
    timeoutMs: 2_000,
  })) as Array<{ ro: number }>;
  return Number(rows[0]?.ro) === 1;
}

const isWriterTopology = (o: Observed): o is Extract<Observed, { kind: "topology" }> =>
  o.kind === "topology" &&
  o.topology.writer !== null &&
  o.topology.primary !== null &&
  o.topology.primary !== "db1";

async function trial(kind: Case, semiSync: boolean): Promise<TrialResult> {
  const stack = await startStack({ lab: { semiSync, nodes: 3 } });
  const { lab } = stack;
  const db1 = lab.node("db1");
  let client: ReturnType<typeof startFollowingClient> | undefined;
  const obs = observe(stack.nc, "main", (o) => {
    if (o.kind === "topology" && o.topology.writer) client?.follow(o.topology.writer.server);
  });
  const health: { at: number; reachable: boolean }[] = [];
  const sub = stack.nc.subscribe(subjects.health("main", "db1"), {
    callback: (_e, m) => {
      const r = parseMessage(HealthMessage, m.data);
      if (r.ok) health.push({ at: performance.now(), reachable: r.value.payload.reachable });
    },
  });
  let frozen = false;
  try {
    await waitFor(async () => (await clusterStatus(stack.nc, "main", 5_000))?.primary === "db1", {
      timeoutMs: STEP_TIMEOUT_MS,
      message: "db1 primary",
    });
    await db1.query(
      `CREATE TABLE IF NOT EXISTS app.${TABLE} (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, node VARCHAR(64) NOT NULL) ENGINE=InnoDB`,
    );
    client = startFollowingClient(lab, "db1");
    const c = client;
    await waitFor(() => c.acks.length >= 100, { timeoutMs: STEP_TIMEOUT_MS, message: "warm-up" });

    const t0 = performance.now();
    if (kind === "kill9") await db1.kill9();
    else {
      frozen = true;
      await db1.sigstop();
    }
    const lost = await waitFor(() => health.find((h) => h.at > t0 && !h.reachable), {
      timeoutMs: STEP_TIMEOUT_MS,
      intervalMs: 5,
      message: "db1 unreachable",
    });
    const running = await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.kind === "failover" &&
        o.operation.state === "running" &&
        o.at > t0,
      STEP_TIMEOUT_MS,
      "failover running",
    );
    const topo = await obs.waitFor(isWriterTopology, STEP_TIMEOUT_MS, "new writer");
    const next = (topo.topology as ClusterTopology).primary!;
    const firstNew = await waitFor(() => c.acks.find((a) => a.at > t0 && a.node === next), {
      timeoutMs: STEP_TIMEOUT_MS,
      intervalMs: 5,
      message: `a write acknowledged by ${next}`,
    });
    const lastOld = [...c.acks].reverse().find((a) => a.node === "db1" && a.at < firstNew.at);
    const done = await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.kind === "failover" &&
        o.operation.state !== "running",
      STEP_TIMEOUT_MS,
      "failover result",
    );
    const op = (done as Extract<Observed, { kind: "operation" }>).operation as OperationEvent;
    if (op.state !== "succeeded") throw new Error(`failover ${op.state}: ${op.message}`);

    let thawToReadOnlyMs: number | null = null;
    let thawOutcome: string | null = null;
    if (kind === "sigstop") {
      const tc = performance.now();
      await db1.sigcont();
      frozen = false;
      await waitFor(() => readOnly(db1), {
        timeoutMs: STEP_TIMEOUT_MS,
        intervalMs: 5,
        message: "db1 read_only after thaw",
      });
      thawToReadOnlyMs = performance.now() - tc;
      const settled = await obs
        .waitFor(
          (o) =>
            o.kind === "topology" &&
            o.at > tc &&
            ["replica", "diverged"].includes(
              o.topology.servers.find((s) => s.name === "db1")?.role ?? "",
            ),
          15_000,
          "db1 rejoined or diverged",
        )
        .catch(() => null);
      thawOutcome =
        settled?.kind === "topology"
          ? (settled.topology.servers.find((s) => s.name === "db1")?.role ?? "other")
          : "unsettled";
    }
    return {
      case: kind,
      newPrimary: next,
      detectionMs: lost.at - t0,
      decisionMs: running.at - lost.at,
      executionMs: topo.at - running.at,
      clientMs: firstNew.at - topo.at,
      totalMs: firstNew.at - t0,
      writeGapMs: lastOld ? firstNew.at - lastOld.at : Number.NaN,
      opTimings: op.timings,
      thawToReadOnlyMs,
      thawOutcome,
    };
  } finally {
    if (frozen) await db1.sigcont().catch(() => {});
    await client?.stop();
    sub.unsubscribe();
    obs.close();
    await stack.close();
  }
}

interface Variant {
  /** Metric prefix: `kill9`, `sigstop` (semi-sync on), `kill9_async`, `sigstop_async`. */
  label: string;
  kind: Case;
  semiSync: boolean;
}

async function main() {
  const { values } = parseArgs({
    options: {
      trials: { type: "string", default: "10" },
      cases: { type: "string", default: "kill9,sigstop" },
      /** true: semi-sync AFTER_SYNC only; false: asynchronous only; both (default). */
      "semi-sync": { type: "string", default: "both" },
    },
  });
  const trials = Math.max(1, Number(values.trials));
  const cases = values.cases.split(",").filter((c): c is Case => c === "kill9" || c === "sigstop");
  const modes = values["semi-sync"] === "both" ? [true, false] : [values["semi-sync"] !== "false"];
  const variants: Variant[] = modes.flatMap((semiSync) =>
    cases.map((kind) => ({ kind, semiSync, label: semiSync ? kind : `${kind}_async` })),
  );
  const results: { variant: Variant; r: TrialResult }[] = [];
  const log = trialLog();
  // Interleaved, so machine noise spreads over every variant.
  for (let i = 1; i <= trials; i++) {
    for (const v of variants) {
      const r = await log.run(
        `${v.label} #${i}`,
        () => trial(v.kind, v.semiSync),
        (r) =>
          `total ${r.totalMs.toFixed(0)} ms (detect ${r.detectionMs.toFixed(0)}, decide ${r.decisionMs.toFixed(0)}, execute ${r.executionMs.toFixed(0)}, client ${r.clientMs.toFixed(0)}) → ${r.newPrimary}; op ${JSON.stringify(r.opTimings)}${r.thawToReadOnlyMs !== null ? `; thaw→read_only ${r.thawToReadOnlyMs.toFixed(0)} ms, db1 ${r.thawOutcome}` : ""}`,
      );
      if (r) results.push({ variant: v, r });
    }
  }

  const metrics: Record<string, Stat> = {};
  const put = (name: string, values: number[]) => {
    const v = values.filter((x) => Number.isFinite(x));
    if (v.length) metrics[name] = stat(v, "ms");
  };
  const notes: string[] = [];
  for (const v of variants) {
    const rs = results.filter((x) => x.variant === v).map((x) => x.r);
    const figures: [string, (r: TrialResult) => number][] = [
      ["detection", (r) => r.detectionMs],
      ["decision", (r) => r.decisionMs],
      ["execution", (r) => r.executionMs],
      ["client", (r) => r.clientMs],
      ["total", (r) => r.totalMs],
      ["write_gap", (r) => r.writeGapMs],
    ];
    for (const [name, f] of figures) put(`${v.label}.${name}_ms`, rs.map(f));
    for (const p of [...new Set(rs.flatMap((r) => Object.keys(r.opTimings)))]) {
      put(
        `${v.label}.op_${p}_ms`,
        rs.map((r) => r.opTimings[p] ?? Number.NaN),
      );
    }
    if (v.kind === "sigstop") {
      put(
        `${v.label}.thaw_to_read_only_ms`,
        rs.map((r) => r.thawToReadOnlyMs ?? Number.NaN),
      );
      const outcomes: Record<string, number> = {};
      for (const r of rs)
        outcomes[r.thawOutcome ?? "?"] = (outcomes[r.thawOutcome ?? "?"] ?? 0) + 1;
      notes.push(`${v.label}: db1 after thaw: ${JSON.stringify(outcomes)}`);
    }
  }
  writeBenchReport({
    name: "failover",
    settings: {
      nodes: 3,
      semiSync: modes.length === 2 ? "on (kill9, sigstop) and off (*_async)" : modes[0],
      marina:
        "defaults (monitor.intervalMs 500, connectTimeoutMs 500, queryTimeoutMs 1000; failover.replicaQuietMs 3000, failuresBeforeDead 1)",
      lab: "slave_net_timeout 3, MASTER_HEARTBEAT_PERIOD 1, MASTER_CONNECT_RETRY 1; semi-sync AFTER_SYNC, rpl_semi_sync_master_timeout 10 s",
      client: "one INSERT at a time as app, 1 ms pause, follows the published topology",
      stackPerTrial: true,
    },
    trials,
    metrics,
    notes: log.notes(notes),
  });
  log.finish();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
