// How a durability mode maps onto the lab and Marina's config (one place; the trials and
// the strict-durability tests use it).
import type { LabOptions } from "@marina/lab";
import type { LabConfigOptions } from "../lab-config.js";

export const DURABILITIES = ["strict", "semisync", "async"] as const;
export type Durability = (typeof DURABILITIES)[number];

/**
 * The my.cnf lines strict durability wants on every server (docs/operations.md): a commit
 * waits for a replica's ack for ever (2^64-1 ms), also with no replica connected.
 */
export const STRICT_MYCNF = {
  rpl_semi_sync_master_timeout: "18446744073709551615",
  rpl_semi_sync_master_wait_no_slave: "ON",
  rpl_semi_sync_master_wait_point: "AFTER_SYNC",
} as const;

export interface DurabilityStack {
  readonly lab: Pick<LabOptions, "semiSync" | "mysqld">;
  readonly config: Pick<LabConfigOptions, "semiSync">;
}

export function durabilityStack(d: Durability): DurabilityStack {
  if (d === "strict") {
    return { lab: { semiSync: true, mysqld: STRICT_MYCNF }, config: { semiSync: "strict" } };
  }
  const semiSync = d === "semisync";
  return { lab: { semiSync }, config: { semiSync } };
}
