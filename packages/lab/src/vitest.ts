import { afterAll, beforeAll } from "vitest";
import { type Lab, type LabOptions, startLab } from "./lab.js";

/**
 * Starts a lab in `beforeAll` and closes it in `afterAll` of the enclosing suite; returns
 * a getter (the lab exists only once beforeAll ran). Kept out of the main entry so
 * services never load vitest: import from "@marina/lab/vitest".
 */
export function useLab(opts: LabOptions = {}, hookTimeoutMs = 120_000): () => Lab {
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = await startLab(opts);
  }, hookTimeoutMs);
  afterAll(async () => {
    await lab?.close();
  }, hookTimeoutMs);
  return () => {
    if (!lab) throw new Error("useLab: the lab is not started yet (use it inside a test or hook)");
    return lab;
  };
}
