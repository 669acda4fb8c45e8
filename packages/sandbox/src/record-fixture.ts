#!/usr/bin/env node
// Records a decider input stream from the lab, for the replay tests of decider-core:
//   node packages/sandbox/dist/record-fixture.js <out.jsonl>
// Scenario: 3 nodes with semi-sync and a writer; kill -9 of the primary; failover; the old
// primary restarted and rejoined. Every input the decider saw is written with its time,
// leadership, epoch, the operation ids it was given and the actions it produced.
import { writeFileSync } from "node:fs";
import type { RecordedInput } from "@marina/decider";
import { startWriter, waitFor, waitForConvergence } from "@marina/lab";
import { observe } from "./observer.js";
import { startStack } from "./stack.js";

async function main() {
  const out = process.argv[2];
  if (!out) throw new Error("usage: record-fixture <out.jsonl>");
  const stack = await startStack({ lab: { semiSync: true, nodes: 3 }, deciders: 0 });
  const lines: RecordedInput[] = [];
  try {
    await stack.startDecider("decider-1", { record: (_c, line) => lines.push(line) });
    const obs = observe(stack.nc, "main");
    await obs.waitFor((o) => o.kind === "topology" && o.topology.primary === "db1", 20_000);
    const writer = await startWriter(stack.lab.node("db1"), { intervalMs: 20 });
    await writer.waitForAcks(20);
    // no commit in flight at the kill, so the old primary can rejoin (a kill mid-commit
    // may leave it diverged, which is another story: failover-diverged.int.test.ts)
    await writer.stop();
    await waitForConvergence(stack.lab.nodes, { timeoutMs: 30_000 });
    await stack.lab.node("db1").kill9();
    await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.kind === "failover" &&
        o.operation.state === "succeeded",
      30_000,
    );
    await stack.lab.node("db1").start();
    await obs.waitFor(
      (o) =>
        o.kind === "operation" && o.operation.kind === "rejoin" && o.operation.state !== "running",
      60_000,
    );
    // a few more samples of the settled cluster
    await waitFor(() => false, 1500).catch(() => {});
    obs.close();
  } finally {
    await stack.close();
  }
  const cluster = stack.config.clusters[0]!;
  const header = { type: "config", source: "decider-1", config: cluster };
  writeFileSync(out, `${[header, ...lines].map((l) => JSON.stringify(l)).join("\n")}\n`);
  console.log(`recorded ${lines.length} inputs to ${out}`);
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? err);
  process.exit(1);
});
