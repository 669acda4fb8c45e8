import { type ClusterConfig, promotionOf } from "@marina/contracts/config";
import type { ErrorCode } from "@marina/contracts/errors";
import { connectionsTo, currentObservation, lagOf, serverConfig } from "../knowledge.js";
import type { DeciderState } from "../state.js";

// Switchover pre-checks: what makes a planned switchover a bad idea now, each refused with
// its own code unless the command says `force`. Decided on what the decider knows (the
// samples). The primary's long transactions come from its sample's oldestTransactionSeconds:
// a sample of a monitor that does not send it (an earlier release) passes the check.

export interface PreCheckFailure {
  code: Extract<
    ErrorCode,
    | "TARGET_IN_MAINTENANCE"
    | "TARGET_NEVER_PROMOTE"
    | "TARGET_LAGGING"
    | "REPLICAS_WITHOUT_SOURCE"
    | "LONG_TRANSACTION"
  >;
  reason: string;
}

/** A named target: in maintenance, never-promote, lagging beyond switchover.maxLagSeconds. */
export function targetPreChecks(
  state: DeciderState,
  config: ClusterConfig,
  now: number,
  primary: string,
  target: string,
): PreCheckFailure[] {
  const out: PreCheckFailure[] = [];
  const m = state.maintenance[target];
  if (m) {
    out.push({
      code: "TARGET_IN_MAINTENANCE",
      reason: `${target} is in maintenance (${m.reason}): clear it, or force`,
    });
  }
  const cfg = serverConfig(config, target);
  if (cfg && promotionOf(cfg) === "never") {
    const setting = cfg.neverPromote ? "neverPromote" : "promotion: never";
    out.push({
      code: "TARGET_NEVER_PROMOTE",
      reason: `${target} has ${setting} set in the config (force does not lift it): remove it from the config to promote ${target}`,
    });
  }
  const obs = currentObservation(state, config, target, now);
  const conn = obs ? connectionsTo(config, obs, primary)[0] : undefined;
  const lag = conn ? lagOf(state, target, conn) : null;
  const bound = config.switchover.maxLagSeconds;
  if (lag !== null && lag > bound) {
    out.push({
      code: "TARGET_LAGGING",
      reason: `${target} lags ${lag} s behind ${primary}, beyond switchover.maxLagSeconds ${bound}: wait for it to catch up, or force (the catch-up phase then waits up to the phase timeout)`,
    });
  }
  return out;
}

/**
 * Replicas of the primary that the switchover does not repoint — in maintenance (left as
 * they are) or not reachable now — when the demoted primary will not pass the new
 * primary's transactions on to them (its log_bin or log_slave_updates is off): they would be
 * left replicating from a server that gives them nothing new.
 */
export function replicasLeftWithoutSource(
  state: DeciderState,
  config: ClusterConfig,
  now: number,
  primary: string,
  target: string,
): PreCheckFailure | null {
  const primaryObs = currentObservation(state, config, primary, now);
  if (primaryObs === null || (primaryObs.logBin && primaryObs.logSlaveUpdates)) return null;
  const left: string[] = [];
  for (const s of config.servers) {
    if (s.name === primary || s.name === target) continue;
    // The last thing seen of it, reachable or not: where it will replicate from.
    const last = state.lastObservation[s.name]?.observation;
    if (!last || connectionsTo(config, last, primary).length === 0) continue;
    if (state.maintenance[s.name]) left.push(`${s.name} (in maintenance)`);
    else if (currentObservation(state, config, s.name, now) === null) {
      left.push(`${s.name} (not reachable)`);
    }
  }
  if (left.length === 0) return null;
  const off = primaryObs.logBin ? "log_slave_updates" : "log_bin";
  return {
    code: "REPLICAS_WITHOUT_SOURCE",
    reason: `${left.join(", ")} replicate${left.length === 1 ? "s" : ""} from ${primary} and would not be repointed to ${target}; with ${off} off on ${primary} nothing new would reach ${left.length === 1 ? "it" : "them"}: repoint or rejoin ${left.length === 1 ? "it" : "them"} after, or force`,
  };
}

/**
 * The primary runs a transaction open longer than switchover.maxTransactionSeconds: the
 * demotion's fence would kill its session (privileged ones are spared without force, but the
 * sample does not say whose it is) and roll it back.
 */
export function longTransaction(
  state: DeciderState,
  config: ClusterConfig,
  now: number,
  primary: string,
): PreCheckFailure | null {
  const age = currentObservation(state, config, primary, now)?.oldestTransactionSeconds;
  const bound = config.switchover.maxTransactionSeconds;
  if (age === undefined || age === null || age <= bound) return null;
  return {
    code: "LONG_TRANSACTION",
    reason: `${primary} has a transaction open for ${age} s, beyond switchover.maxTransactionSeconds ${bound}: the demotion would kill it (rolled back); let it finish, or force`,
  };
}
