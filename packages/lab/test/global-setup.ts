import { randomBytes } from "node:crypto";
import { LabBackend, labBackendFromEnv } from "../src/backend.js";
import { resolveBinary } from "../src/binaries.js";
import { findLabProcesses, killProcesses, type LabProcess } from "../src/leftovers.js";
import { type SweptNetwork, sweepStaleNetworks } from "../src/netns-sweep.js";
import { LAB_RUN_ENV, labDirPrefix } from "../src/temp-tree.js";

/**
 * Integration-run guard. Setup tags this run (workers inherit the env var, so every lab of
 * the run lives in /tmp/marina-lab-<run>-XXXXXX) and checks the server binaries exist.
 * Teardown fails the run loudly if any process of this run's labs is still alive, after
 * killing it. Lab networks (hosts mode) of dead processes are swept before the run; one
 * of this run's own left behind fails it too.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const containers = labBackendFromEnv() === LabBackend.Containers;
  // On containers the servers come from images; a sweep removes what dead runs left.
  if (containers) await sweepDeadContainers(false);
  else for (const bin of ["mariadbd", "mariadb-install-db", "nats-server"]) resolveBinary(bin);
  // scripts/test.sh sets the tag so it can check for leftovers of exactly this run.
  const run = process.env[LAB_RUN_ENV] || randomBytes(4).toString("hex");
  process.env[LAB_RUN_ENV] = run;
  const marker = labDirPrefix(run);
  await sweepStaleNetworks();

  return async function teardown(): Promise<void> {
    // Workers were just torn down; give the kernel's pdeathsig kills a moment to land.
    let left: LabProcess[] = findLabProcesses(marker);
    const deadline = Date.now() + 3_000;
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      left = findLabProcesses(marker);
    }
    const swept = (await sweepStaleNetworks()).filter((n) => n.holder?.run === run);
    if (swept.length > 0) reportNetworks(swept);
    // Every worker is gone: a lab container whose owner died is this run's leftover.
    if (containers) await sweepDeadContainers(true);
    if (left.length === 0) return;
    killProcesses(left);
    const list = left.map((p) => `  ${p.pid} ${p.cmdline}`).join("\n");
    process.stderr.write(
      `\n[marina-lab] ERROR: ${left.length} lab process(es) outlived the test run (now killed):\n${list}\n`,
    );
    // vitest only logs an error thrown here; the exit code is what makes the run fail.
    process.exitCode = 1;
    throw new Error(`lab processes left behind by the test run:\n${list}`);
  };
}

function reportNetworks(swept: readonly SweptNetwork[]): void {
  const list = swept
    .map((n) => `  network ${n.index} of pid ${n.holder?.pid}: ${n.namespaces.join(" ")}`)
    .join("\n");
  process.stderr.write(
    `\n[marina-lab] ERROR: lab network(s) outlived their owner (now removed):\n${list}\n`,
  );
  process.exitCode = 1;
}

/** Removes lab containers and networks of dead owners; `report`: and fails the run if any. */
async function sweepDeadContainers(report: boolean): Promise<void> {
  const { sweepContainers } = await import("../src/containers/engine.js");
  const swept = await sweepContainers();
  const list = [...swept.containers, ...swept.networks];
  if (list.length === 0) return;
  process.stderr.write(
    `\n[marina-lab] ${report ? "ERROR: " : ""}lab container(s)/network(s) of dead runs removed: ${list.join(" ")}\n`,
  );
  if (report) process.exitCode = 1;
}
