// pnpm bench returning [--trials N] [--cases restart,thaw] [--settings recommended,plain]
//
// How long a returned old primary answers read_only=0 beside the new primary (hardening,
// defect 5). One fresh stack per trial (3 nodes, semi-sync, monitor, 2 executors, decider
// at default settings: probe interval 500 ms). After Marina failed over from db1:
//   restart  db1 was killed (kill -9) and is started again
//   thaw     db1 was frozen (SIGSTOP) and is SIGCONTed
// with the recommended setting (`recommended`: read_only=ON in every server's my.cnf) or
// without it (`plain`: read_only=0 in the primary's my.cnf). A poller opens a fresh root
// connection every 50 ms and records read_only. Figures from the return (start() or
// SIGCONT resolved): `to_read_only` = first read_only=1 answer, `writable` = from the
// first read_only=0 answer to the first read_only=1 after it (0 when never writable).
// And the price of the recommended setting (`--own-restart N`, default 10 trials): the
// CURRENT primary killed and restarted with automatic failover off comes back read-only;
// `own_restart.read_only_window_ms` = from its return to the first read_only=0 answer
// (Marina restoring writes: semi-sync master on, then read_only=0).
import { parseArgs } from "node:util";
import { waitFor } from "@marina/lab";
import { type Stat, stat, writeBenchReport } from "@marina/lab/bench";
import { type Observed, observe, pollReadOnly, startStack } from "@marina/sandbox";
import { trialLog } from "./lib/trial-log.js";

type Case = "restart" | "thaw";
type Setting = "recommended" | "plain";

interface TrialResult {
  toReadOnlyMs: number;
  writableMs: number;
  writableSamples: number;
}

const STEP_TIMEOUT_MS = 60_000;

async function trial(c: Case, setting: Setting): Promise<TrialResult> {
  const stack = await startStack({
    lab: { semiSync: true, nodes: 3, readOnlyInConfig: setting === "recommended" },
  });
  const db1 = stack.lab.node("db1");
  const obs = observe(stack.nc, "main");
  let frozen = false;
  try {
    await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.primary === "db1" && o.topology.writer !== null,
      STEP_TIMEOUT_MS,
      "db1 the writer",
    );
    const t0 = performance.now();
    if (c === "restart") await db1.kill9();
    else {
      frozen = true;
      await db1.sigstop();
    }
    await obs.waitFor(
      (o: Observed) =>
        o.kind === "topology" &&
        o.at > t0 &&
        o.topology.writer !== null &&
        o.topology.primary !== "db1",
      STEP_TIMEOUT_MS,
      "a new writer",
    );
    const poller = pollReadOnly(db1, 50);
    try {
      if (c === "restart") await db1.start();
      else {
        await db1.sigcont();
        frozen = false;
      }
      const back = performance.now();
      const ro = await poller.firstReadOnly(STEP_TIMEOUT_MS);
      return {
        toReadOnlyMs: Math.max(0, ro - back),
        writableMs: poller.writableMs() ?? Number.NaN,
        writableSamples: poller.samples.filter((s) => !s.readOnly && s.at <= ro).length,
      };
    } finally {
      poller.stop();
    }
  } finally {
    if (frozen) await db1.sigcont().catch(() => {});
    obs.close();
    await stack.close();
  }
}

async function ownRestartTrial(): Promise<number> {
  const stack = await startStack({
    lab: { semiSync: true, nodes: 3 },
    config: { failover: { auto: false } },
  });
  const db1 = stack.lab.node("db1");
  const obs = observe(stack.nc, "main");
  try {
    await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.primary === "db1" && o.topology.writer !== null,
      STEP_TIMEOUT_MS,
      "db1 the writer",
    );
    await db1.kill9();
    const poller = pollReadOnly(db1, 50);
    try {
      await db1.start();
      const back = performance.now();
      await waitFor(() => poller.samples.some((x) => !x.readOnly), {
        timeoutMs: STEP_TIMEOUT_MS,
        intervalMs: 10,
        message: "db1 writable again",
      });
      return poller.samples.find((x) => !x.readOnly)!.at - back;
    } finally {
      poller.stop();
    }
  } finally {
    obs.close();
    await stack.close();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      trials: { type: "string", default: "10" },
      cases: { type: "string", default: "restart,thaw" },
      settings: { type: "string", default: "recommended,plain" },
      "own-restart": { type: "string", default: "10" },
    },
  });
  const trials = Math.max(1, Number(values.trials));
  const cases = values.cases.split(",").filter((c): c is Case => c === "restart" || c === "thaw");
  const settings = values.settings
    .split(",")
    .filter((s): s is Setting => s === "recommended" || s === "plain");
  const variants = settings.flatMap((s) => cases.map((c) => ({ c, s, label: `${c}_${s}` })));
  const results = new Map<string, TrialResult[]>();
  const log = trialLog();
  for (let i = 1; i <= trials; i++) {
    for (const v of variants) {
      const r = await log.run(
        `${v.label} #${i}`,
        () => trial(v.c, v.s),
        (r) =>
          `read_only=1 after ${r.toReadOnlyMs.toFixed(0)} ms; writable ${r.writableMs.toFixed(0)} ms (${r.writableSamples} samples read_only=0)`,
      );
      if (r) results.set(v.label, [...(results.get(v.label) ?? []), r]);
    }
  }
  const windows: number[] = [];
  for (let i = 1; i <= Number(values["own-restart"]); i++) {
    const ms = await log.run(
      `own_restart #${i}`,
      ownRestartTrial,
      (ms) => `writable again ${ms.toFixed(0)} ms after it came back`,
    );
    if (ms !== undefined) windows.push(ms);
  }
  const metrics: Record<string, Stat> = {};
  if (windows.length) metrics["own_restart.read_only_window_ms"] = stat(windows, "ms");
  for (const [label, rs] of results) {
    metrics[`${label}.to_read_only_ms`] = stat(
      rs.map((r) => r.toReadOnlyMs),
      "ms",
    );
    const w = rs.map((r) => r.writableMs).filter((x) => Number.isFinite(x));
    if (w.length) metrics[`${label}.writable_ms`] = stat(w, "ms");
    metrics[`${label}.writable_samples_count`] = stat(
      rs.map((r) => r.writableSamples),
      "count",
    );
  }
  writeBenchReport({
    name: "returning",
    settings: {
      nodes: 3,
      semiSync: true,
      marina: "defaults (monitor.intervalMs 500)",
      recommended: "read_only=ON in every my.cnf; the primary made writable at runtime",
      plain: "read_only=0 in the primary's my.cnf",
      poller: "fresh root connection every 50 ms",
      stackPerTrial: true,
    },
    trials,
    metrics,
    notes: log.notes(),
  });
  log.finish();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
