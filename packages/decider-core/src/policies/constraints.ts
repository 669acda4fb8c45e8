import type { ClusterConfig } from "@marina/contracts/config";
import type { ErrorCode } from "@marina/contracts/errors";
import type { ServerObservation } from "@marina/contracts/health";
import { pausedReason } from "../pause.js";
import type { PauseRecord, VetoHold } from "../state.js";

// Rule 5, anti-flapping and preconditions of an AUTOMATIC failover. A manual failover is an
// operator's explicit decision and skips them (its candidate rules still apply).

export const BlockCodes = {
  disabled: "disabled",
  maintenance: "maintenance",
  cooldown: "cooldown",
  window: "window",
  semiSync: "semi-sync",
  acknowledger: "acknowledger",
  paused: "paused",
  /** A hook or a veto responder blocked the last attempt (hooks.vetoHoldMs). */
  veto: "veto",
  /** Every server went down; the candidate lacks what the last primary had (all-down.ts). */
  allDown: "all-down",
} as const;
export type BlockCode = (typeof BlockCodes)[keyof typeof BlockCodes];

export interface FailoverBlock {
  code: BlockCode;
  errorCode: ErrorCode;
  reason: string;
}

export interface ConstraintInput {
  config: ClusterConfig;
  now: number;
  /** Start times of earlier failovers. */
  failovers: readonly number[];
  primary: string;
  primaryInMaintenance: boolean;
  /** The dead primary's last observation while it was reachable, if any. */
  primaryLastObservation: ServerObservation | null;
  /** Automation paused (cmd.pause): why and by whom, as the status shows it. */
  paused?: PauseRecord | null;
  /** The hold left by the last vetoed attempt, if any (plans/hooks.ts). */
  vetoHold?: VetoHold | null;
}

/** Failovers that still count for the window limit. */
export function failoversInWindow(
  config: ClusterConfig,
  failovers: readonly number[],
  now: number,
) {
  return failovers.filter((t) => now - t < config.failover.windowMs);
}

export function checkFailoverConstraints(input: ConstraintInput): FailoverBlock | null {
  const f = input.config.failover;
  if (!f.auto) {
    return {
      code: "disabled",
      errorCode: "REFUSED",
      reason: "failover.auto is false: run the failover command",
    };
  }
  if (input.paused) {
    return { code: "paused", errorCode: "REFUSED", reason: pausedReason(input.paused) };
  }
  if (input.primaryInMaintenance) {
    return {
      code: "maintenance",
      errorCode: "REFUSED",
      reason: `${input.primary} is in maintenance: automatic failover is off for it`,
    };
  }
  const hold = input.vetoHold;
  if (hold && hold.primary === input.primary && input.now < hold.until) {
    return {
      code: "veto",
      errorCode: "VETOED",
      reason: `${hold.reason}; automatic failover held until ${isoTime(hold.until)} (hooks.vetoHoldMs), then tried again`,
    };
  }
  const last = input.failovers.length ? Math.max(...input.failovers) : null;
  if (last !== null && input.now - last < f.cooldownMs) {
    return {
      code: "cooldown",
      errorCode: "COOLDOWN",
      reason: `last failover ${input.now - last} ms ago, cooldown is ${f.cooldownMs} ms (until ${isoTime(last + f.cooldownMs)})`,
    };
  }
  const inWindow = failoversInWindow(input.config, input.failovers, input.now);
  if (inWindow.length >= f.maxPerWindow) {
    return {
      code: "window",
      errorCode: "FAILOVER_LIMIT",
      reason: `${inWindow.length} failovers in the last ${f.windowMs} ms, limit is ${f.maxPerWindow}`,
    };
  }
  if (f.requireSemiSync && input.primaryLastObservation?.semiSync.masterStatus !== true) {
    return {
      code: "semi-sync",
      errorCode: "REFUSED",
      reason:
        input.primaryLastObservation === null
          ? "failover.requireSemiSync: the primary was never seen with semi-sync on"
          : "failover.requireSemiSync: semi-sync was not in sync when the primary was last seen",
    };
  }
  return null;
}

/** A time for a reason; a value no Date can hold (a state edited by hand) as it is. */
function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms since the epoch` : d.toISOString();
}
