// pnpm bench thaw [--trials N] [--cases short,long]
//
// The frozen primary and the writes it acknowledges (hardening, defect 1). One fresh stack
// per trial (3 nodes, semi-sync AFTER_SYNC, rpl_semi_sync_master_timeout 10 s, monitor,
// 2 executors, decider). A client follows the published topology, and four clients are
// pinned to db1 (two keep their connection through the freeze, two reconnect to db1 as
// soon as it answers). db1 is SIGSTOPped, Marina fails over, db1 is SIGCONTed:
//   short  frozen ~7 s, less than the semi-sync timeout: the commits waiting for an ack
//          (and the writes taken between the thaw and the fence) must never be answered OK
//   long   frozen ~13 s, more than the timeout: at the thaw the waits end by the timeout
//          before any fence can land — outside what a fence can prevent (strict durability
//          and STONITH are the fault-trials issue); measured to say what it shows
// Per trial: acknowledged writes missing from the new primary (`lost`), acknowledgements
// the thawed db1 gave (`acked_after_thaw`), SIGCONT → read_only=1 seen by a 50 ms poller,
// and what became of db1 (rejoined / diverged).
import { parseArgs } from "node:util";
import { type Stat, stat, writeBenchReport } from "@marina/lab/bench";
import { type ThawTrialResult, thawTrial } from "@marina/sandbox";
import { trialLog } from "./lib/trial-log.js";

const CASES = { short: 7_000, long: 13_000 } as const;
type Case = keyof typeof CASES;

async function main() {
  const { values } = parseArgs({
    options: {
      trials: { type: "string", default: "10" },
      cases: { type: "string", default: "short,long" },
    },
  });
  const trials = Math.max(1, Number(values.trials));
  const cases = values.cases.split(",").filter((c): c is Case => c in CASES);
  const results: { c: Case; r: ThawTrialResult }[] = [];
  const log = trialLog();
  for (let i = 1; i <= trials; i++) {
    for (const c of cases) {
      const r = await log.run(
        `${c} #${i}`,
        () => thawTrial({ freezeMs: CASES[c] }),
        (r) =>
          `frozen ${(r.freezeMs / 1000).toFixed(1)} s, failover ${r.failoverMs.toFixed(0)} ms → ${r.newPrimary}; pinned acked ${r.stickyAcked} (${r.stickyAckedAfterThaw} after thaw); lost ${r.missing.length}${r.missing.length ? ` ${JSON.stringify(r.lost)}` : ""}; thaw→read_only ${r.thawToReadOnlyMs?.toFixed(0) ?? "-"} ms; db1 ${r.outcome}`,
      );
      if (r) results.push({ c, r });
    }
  }
  const metrics: Record<string, Stat> = {};
  const notes: string[] = [];
  for (const c of cases) {
    const rs = results.filter((x) => x.c === c).map((x) => x.r);
    if (rs.length === 0) continue;
    const put = (name: string, values: number[], unit: string) => {
      const v = values.filter((x) => Number.isFinite(x));
      if (v.length) metrics[`${c}.${name}_${unit}`] = stat(v, unit);
    };
    put(
      "freeze",
      rs.map((r) => r.freezeMs),
      "ms",
    );
    put(
      "failover",
      rs.map((r) => r.failoverMs),
      "ms",
    );
    put(
      "thaw_to_read_only",
      rs.map((r) => r.thawToReadOnlyMs ?? Number.NaN),
      "ms",
    );
    put(
      "lost",
      rs.map((r) => r.missing.length),
      "writes",
    );
    put(
      "acked_after_thaw",
      rs.map((r) => r.stickyAckedAfterThaw),
      "writes",
    );
    put(
      "pinned_acked",
      rs.map((r) => r.stickyAcked),
      "writes",
    );
    const lost = rs.reduce((n, r) => n + r.missing.length, 0);
    const withLoss = rs.filter((r) => r.missing.length > 0).length;
    const outcomes: Record<string, number> = {};
    for (const r of rs) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    notes.push(
      `${c}: ${rs.length} trials, ${lost} acknowledged writes lost in all, in ${withLoss} trials; db1 after thaw ${JSON.stringify(outcomes)}`,
    );
  }
  writeBenchReport({
    name: "thaw",
    settings: {
      nodes: 3,
      semiSync: "AFTER_SYNC, rpl_semi_sync_master_timeout 10000 ms",
      freezeMs: Object.fromEntries(cases.map((c) => [c, CASES[c]])),
      clients:
        "one follows the topology; four pinned to db1 as the non-SUPER app user (2 with socketTimeout 60 s, 2 with 5 s), one INSERT at a time, 5 ms apart",
      readOnlyPoller: "fresh root connection every 50 ms",
      marina: "defaults",
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
