import type { ClusterConfig } from "@marina/contracts/config";

/** Tunables that are not part of the shared config file; defaults suit the lab. */
export interface DeciderOptions {
  /** How long an agent heartbeat counts as current evidence. */
  agentHeartbeatFreshMs: number;
  /** Attempts of one step on a retryable error (first send included). */
  maxStepAttempts: number;
  /** Reply timeout for steps that do not wait for anything themselves. */
  stepTimeoutMs: number;
  /** Added to a waiting step's own timeout to get the reply timeout. */
  stepReplyMarginMs: number;
  /** Deadline of a failover or rejoin phase that has no timeout of its own. */
  phaseTimeoutMs: number;
  /** verify-replicating timeout after a repoint or rejoin. */
  verifyTimeoutMs: number;
  /** wait-binlog-stable quiet period during a switchover demotion. */
  binlogStableMs: number;
  /** A read-only fix that did not show in the samples is sent again after this. */
  enforceRetryMs: number;
  /** An automatic rejoin that failed is not tried again for this long. */
  rejoinRetryMs: number;
  /** Finished operations kept in state for `status`. */
  historySize: number;
  /**
   * STONITH is tried only when the failed primary's agent sent a heartbeat this recently
   * (it is sent every second): a host frozen whole must not cost the failover a timeout.
   */
  stonithHeartbeatFreshMs: number;
  /** Reply timeout of the STONITH call (kill + wait for the process to go). */
  stonithTimeoutMs: number;
}

export const defaultOptions: DeciderOptions = {
  agentHeartbeatFreshMs: 15_000,
  maxStepAttempts: 3,
  stepTimeoutMs: 5_000,
  stepReplyMarginMs: 2_000,
  phaseTimeoutMs: 60_000,
  verifyTimeoutMs: 10_000,
  binlogStableMs: 100,
  enforceRetryMs: 5_000,
  rejoinRetryMs: 60_000,
  historySize: 10,
  stonithHeartbeatFreshMs: 2_000,
  stonithTimeoutMs: 3_000,
};

export function optionsOf(partial: Partial<DeciderOptions> | undefined): DeciderOptions {
  return partial ? { ...defaultOptions, ...partial } : defaultOptions;
}

/**
 * How old a health sample may be and still count. Monitors back off up to backoffMaxMs
 * while a server is down, so the window must cover that, not only the probe interval.
 */
export function freshMs(config: ClusterConfig): number {
  return 3 * Math.max(config.monitor.intervalMs, config.monitor.backoffMaxMs);
}
