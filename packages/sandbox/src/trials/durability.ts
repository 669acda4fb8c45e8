// How a trial's durability mode maps onto the lab and Marina's config (one place).
import type { LabOptions } from "@marina/lab";
import type { LabConfigOptions } from "../lab-config.js";

export const DURABILITIES = ["strict", "semisync", "async"] as const;
export type Durability = (typeof DURABILITIES)[number];

export interface DurabilityStack {
  readonly lab: Pick<LabOptions, "semiSync">;
  readonly config: Pick<LabConfigOptions, "semiSync">;
}

export function durabilityStack(d: Durability): DurabilityStack {
  const semiSync = d !== "async";
  return { lab: { semiSync }, config: { semiSync } };
}
