// pnpm trials [--n N] [--seed S] [--faults kill9,sigstop,isolate,slow] [--durability semisync|async]
//
// Randomized fault trials (issue 13, first part): each trial a fresh multi-host stack, two
// writers (one following the topology, one pinned to the initial primary), one fault drawn
// from the seed, convergence, then the checker (lost, unexpected, dual-ack). One line per
// trial, a summary by fault, and bench/results/trials.json with every trial (BENCH.md).
// Trial i of seed S has seed S*1000+i: `--seed S --n N` reruns exactly those trials.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stat } from "@marina/lab/bench";
import {
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
      durability: { type: "string", default: "semisync" },
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
  if (values.durability !== "semisync" && values.durability !== "async") {
    console.error(`trials: --durability must be semisync or async (strict is not built yet)`);
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
        `${r.faultMs ? `${(r.faultMs / 1000).toFixed(1)} s, ` : ""}acked ${r.acked}, lost ${r.lost}, unexpected ${r.unexpected}, dual-ack ${r.dualAck}, ${r.failover ? `failover → ${r.newPrimary}` : "no failover"}, converged ${r.convergedMs ?? "NOT"} ms, db1 ${r.oldPrimary}, first write elsewhere ${r.firstWriteAfterFaultMs ?? "-"} ms (${(r.durationMs / 1000).toFixed(0)} s)`,
    );
    if (r) results.push(r);
  }

  const sum = (f: (r: TrialResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const byFault: Record<string, unknown> = {};
  console.log(
    "\nfault     trials  lost  unexpected  dual-ack  converged  false failovers  failover→write median",
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
      ...(writes.length > 0 ? { firstWriteAfterFault: stat(writes, "ms") } : {}),
    };
    byFault[f] = entry;
    console.log(
      `${f.padEnd(9)} ${String(entry.n).padStart(6)} ${String(entry.lost).padStart(5)} ${String(entry.unexpected).padStart(11)} ${String(entry.dualAck).padStart(9)} ${`${entry.converged}/${entry.n}`.padStart(10)} ${String(entry.falseFailovers).padStart(16)}  ${writes.length > 0 ? `${stat(writes, "ms").median} ms` : "-"}`,
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
      converged: results.filter((r) => r.convergedMs !== null).length,
      byFault,
    },
    notes: log.notes([
      "first part of issue 13: services and writers in the lab's root namespace; faults kill9, sigstop, isolate, slow; no strict durability yet",
    ]),
  };
  const dir = join(process.env.MARINA_ROOT ?? ".", "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "trials.json"), `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`\nwrote ${join(dir, "trials.json")}`);
  log.finish();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
