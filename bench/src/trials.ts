// pnpm trials [--n N] [--seed S] [--faults kill9,sigstop,...]
//              [--durability strict|semisync|async] [--out FILE]
//
// Randomized fault trials (issue 13): each trial a fresh multi-host stack, two writers (one
// following the topology, one pinned to the initial primary), one fault drawn from the
// seed (the kinds: FAULTS in packages/sandbox/src/trials/fault-kinds.ts), convergence, then
// the checker (lost, unexpected, dual-ack). One line per trial, a summary by fault, and
// every trial in bench/results/trials.json (or --out: a partial run must not replace it).
// Trial i of seed S has seed S*1000+i: `--seed S --n N` reruns exactly those trials.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { stat } from "@marina/lab/bench";
import {
  DURABILITIES,
  type Durability,
  FAULT_KINDS,
  type FaultKind,
  runTrial,
  seededRandom,
  type TrialResult,
} from "@marina/sandbox";
import { trialLog } from "./lib/trial-log.js";

async function main() {
  const { values } = parseArgs({
    options: {
      n: { type: "string", default: "6" },
      seed: { type: "string", default: "42" },
      faults: { type: "string", default: FAULT_KINDS.join(",") },
      durability: { type: "string", default: "strict" },
      out: { type: "string" },
    },
  });
  const n = Math.max(1, Number(values.n));
  const seed = Number(values.seed);
  const faults = values.faults.split(",").filter((f): f is FaultKind => f !== "");
  for (const f of faults) {
    if (!(FAULT_KINDS as readonly string[]).includes(f)) {
      console.error(`trials: unknown fault "${f}"; known: ${FAULT_KINDS.join(", ")}`);
      process.exit(2);
    }
  }
  if (!(DURABILITIES as readonly string[]).includes(values.durability)) {
    console.error(`trials: --durability must be one of ${DURABILITIES.join(", ")}`);
    process.exit(2);
  }
  const durability = values.durability as Durability;
  const pick = seededRandom(seed);
  const log = trialLog();
  const results: TrialResult[] = [];
  for (let i = 1; i <= n; i++) {
    const trialSeed = seed * 1000 + i;
    const fault = faults[Math.floor(pick() * faults.length)]!;
    const r = await log.run(
      `trial ${i} seed ${trialSeed} ${fault}`,
      () => runTrial({ seed: trialSeed, fault, durability }),
      (r) =>
        `${r.faultMs ? `${(r.faultMs / 1000).toFixed(1)} s, ` : ""}${r.detail ? `${r.detail}; ` : ""}acked ${r.acked}, lost ${r.lost}, unexpected ${r.unexpected}, dual-ack ${r.dualAck}, ${r.failover ? `failover → ${r.newPrimary}` : "no failover"}, converged ${r.convergedMs ?? "NOT"} ms, db1 ${r.oldPrimary}${r.restarted.length ? ` (restarted after STONITH: ${r.restarted.join(",")})` : ""}, first write elsewhere ${r.firstWriteAfterFaultMs ?? "-"} ms${r.staleActs ? `, STALE ACTS ${r.staleActs}` : ""} (${(r.durationMs / 1000).toFixed(0)} s)`,
    );
    if (r) results.push(r);
  }

  const sum = (f: (r: TrialResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const byFault: Record<string, unknown> = {};
  console.log(
    "\nfault              trials  lost  unexpected  dual-ack  converged  false failovers  fault→write elsewhere median / p95",
  );
  for (const f of faults) {
    const rs = results.filter((r) => r.fault === f);
    if (rs.length === 0) continue;
    const writes = rs.flatMap((r) =>
      r.firstWriteAfterFaultMs !== null ? [r.firstWriteAfterFaultMs] : [],
    );
    const entry = {
      n: rs.length,
      lost: rs.reduce((a, r) => a + r.lost, 0),
      unexpected: rs.reduce((a, r) => a + r.unexpected, 0),
      dualAck: rs.reduce((a, r) => a + r.dualAck, 0),
      converged: rs.filter((r) => r.convergedMs !== null).length,
      falseFailovers: rs.filter((r) => r.falseFailover).length,
      staleActs: rs.reduce((a, r) => a + r.staleActs, 0),
      ...(writes.length > 0 ? { firstWriteAfterFault: stat(writes, "ms") } : {}),
    };
    byFault[f] = entry;
    console.log(
      `${f.padEnd(18)} ${String(entry.n).padStart(6)} ${String(entry.lost).padStart(5)} ${String(entry.unexpected).padStart(11)} ${String(entry.dualAck).padStart(9)} ${`${entry.converged}/${entry.n}`.padStart(10)} ${String(entry.falseFailovers).padStart(16)}  ${writes.length > 0 ? `${stat(writes, "ms").median} / ${stat(writes, "ms").p95} ms` : "-"}`,
    );
  }
  const doc = {
    name: "trials",
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    settings: { durability, faults, convergeWithinMs: 30_000 },
    seed,
    trials: results.map(({ lostIds, unexpectedIds, dualAckIds, ...r }) => ({
      ...r,
      ...(lostIds.length ? { lostIds } : {}),
      ...(unexpectedIds.length ? { unexpectedIds } : {}),
      ...(dualAckIds.length ? { dualAckIds } : {}),
    })),
    summary: {
      n: results.length,
      lost: sum((r) => r.lost),
      unexpected: sum((r) => r.unexpected),
      dualAck: sum((r) => r.dualAck),
      falseFailovers: results.filter((r) => r.falseFailover).length,
      staleActs: sum((r) => r.staleActs),
      converged: results.filter((r) => r.convergedMs !== null).length,
      byFault,
    },
    notes: log.notes([
      "issue 13: agents as processes inside their hosts; Marina's services and the follow writer in the lab's root namespace, the pinned writer inside db1's host for the faults that cut it off with db1 (writerOnHost)",
    ]),
  };
  const out = values.out ?? join(process.env.MARINA_ROOT ?? ".", "bench", "results", "trials.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
  log.finish();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
