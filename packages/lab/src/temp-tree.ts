import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Every lab lives under one directory whose path contains this marker. Every process the
 * lab starts carries a path below it on its command line, which is how leftovers are found
 * (`pgrep -af marina-lab-`).
 */
export const LAB_DIR_MARKER = "marina-lab-";

/**
 * Set by the test run's global setup; labs started in that run are tagged with it
 * (`marina-lab-<run>-XXXXXX`) so the run's teardown only ever touches its own processes,
 * never a developer's `marina-lab up` or another run's.
 */
export const LAB_RUN_ENV = "MARINA_LAB_RUN";

/** The directory-name prefix of labs started by this process (`marina-lab-` + run tag). */
export function labDirPrefix(run: string | undefined = process.env[LAB_RUN_ENV]): string {
  return run && /^[A-Za-z0-9]+$/.test(run) ? `${LAB_DIR_MARKER}${run}-` : LAB_DIR_MARKER;
}

export async function makeLabDir(parent: string = tmpdir()): Promise<string> {
  return mkdtemp(join(parent, labDirPrefix()));
}

export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}
