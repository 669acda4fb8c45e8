import { acknowledgersBefore } from "../acknowledgers.js";
import { type CandidateChoice, chooseCandidateNow } from "../candidates.js";
import { assessPrimary, type PrimaryAssessment } from "../evidence.js";
import { currentObservation, knownWritable, observedSinceChange } from "../knowledge.js";
import { choiceLoss } from "../policies/all-down.js";
import { checkFailoverConstraints } from "../policies/constraints.js";
import { assessReadOnlyPrimary } from "../restore-writes.js";
import { type DiagnoseCtx, finding } from "./findings.js";

// The primary's situation: healthy, unreachable (by whom), dead (and then whether a failover
// may start, to which candidate), or read-only while it should take writes.

export function diagnosePrimary(c: DiagnoseCtx, primary: string, learnReason: string | null) {
  const { state, config, now, opts, out } = c;
  if (state.maintenance[primary]) {
    out.findings.push(finding(primary, "MaintenanceSet", state.maintenance[primary]?.reason ?? ""));
  }
  const a = assessPrimary(state, config, primary, now, opts.agentHeartbeatFreshMs);
  out.assessment = a;
  const details = { verdict: a.verdict, agentDown: a.agentDown };
  switch (a.verdict) {
    case "healthy":
      out.findings.push(
        finding(primary, "PrimaryHealthy", learnReason ? `${learnReason}; ${a.reason}` : a.reason, {
          details,
        }),
      );
      break;
    case "unknown":
      break;
    case "suspect":
      // Keep what was reported until the replicas have spoken.
      out.carry.push(primary);
      break;
    case "unreachable-by-monitor":
      out.findings.push(
        finding(primary, "PrimaryUnreachableByMonitor", `${a.reason}: not failing over`, {
          details,
        }),
      );
      break;
    case "unreachable-seen-by-replicas":
      out.findings.push(
        finding(primary, "PrimaryUnreachableSeenByReplicas", a.reason, { details }),
      );
      break;
    case "dead":
      diagnoseDead(c, primary, a);
      break;
    default: {
      const never: never = a.verdict;
      return never;
    }
  }
}

function diagnoseDead(c: DiagnoseCtx, primary: string, a: PrimaryAssessment) {
  const { state, config, now, out } = c;
  const details = { verdict: a.verdict, agentDown: a.agentDown };
  if (c.busy) {
    out.findings.push(finding(primary, "PrimaryDead", a.reason, { details }));
    return;
  }
  const block = checkFailoverConstraints({
    config,
    now,
    failovers: state.failovers,
    primary,
    primaryInMaintenance: state.maintenance[primary] !== undefined,
    primaryLastObservation: state.lastObservation[primary]?.observation ?? null,
    paused: state.paused,
    vetoHold: state.vetoHold ?? null,
  });
  if (block) {
    out.blocked = block;
    out.findings.push(
      finding(primary, "PrimaryDead", `${a.reason}; failover blocked`, { details }),
    );
    const why = block.code === "veto" ? (state.vetoHold?.details ?? {}) : {};
    out.findings.push(
      finding(primary, "FailoverBlocked", block.reason, { code: block.code, details: why }),
    );
    return;
  }
  // Chosen once: the whole-cluster-down rule and the failover both use it.
  const choice = chooseCandidateNow(state, config, now, primary, "failover");
  const loss = allDownBlock(c, choice);
  if (loss) {
    out.blocked = { code: "all-down", errorCode: "WOULD_LOSE_WRITES", reason: loss };
    out.findings.push(
      finding(primary, "PrimaryDead", `${a.reason}; failover blocked`, { details }),
    );
    out.findings.push(
      finding(primary, "FailoverBlocked", loss, {
        code: "all-down",
        details: { code: "all-down", lastPrimaryGtid: state.allDown?.primaryGtid ?? "" },
      }),
    );
    return;
  }
  const riskNamed =
    state.allDown != null && config.failover.allDown === "promoteMostAdvancedMayLoseWrites";
  const acks = acknowledgersBefore(state, config, primary, now, riskNamed);
  if (!acks.ok) {
    out.blocked = {
      code: "acknowledger",
      errorCode: "ACKNOWLEDGER_UNSETTLED",
      reason: acks.reason,
    };
    out.findings.push(
      finding(primary, "PrimaryDead", `${a.reason}; failover blocked`, { details }),
    );
    out.findings.push(finding(primary, "FailoverBlocked", acks.reason, { code: "acknowledger" }));
    return;
  }
  if (!choice.ok) {
    out.findings.push(finding(primary, "PrimaryDead", `${a.reason}; no candidate`, { details }));
    out.findings.push(finding(primary, "PrimaryDeadNoCandidate", choice.reason));
    return;
  }
  const reason = `${a.reason}; failing over to ${choice.reason}`;
  out.findings.push(
    finding(primary, "PrimaryDead", reason, {
      details: { ...details, candidate: choice.candidate },
    }),
  );
  out.failover = { choice, reason };
}

/**
 * A reachable primary that is read-only while it should take writes (not one an operation
 * works on: a switchover demotes it on purpose), and whether writes may be turned back on.
 */
export function diagnoseReadOnlyPrimary(c: DiagnoseCtx) {
  const { state, config, now, primary, primaryObs, primaryHistory, out } = c;
  const verdict = out.assessment?.verdict;
  if (
    c.busy ||
    primary === null ||
    primaryObs === null ||
    primaryHistory === null ||
    !primaryObs.readOnly ||
    (verdict !== "healthy" && verdict !== "unreachable-seen-by-replicas") ||
    knownWritable(state, primary) ||
    !observedSinceChange(state, primary)
  ) {
    return;
  }
  const v = assessReadOnlyPrimary(state, config, now, primary, primaryObs, primaryHistory);
  out.findings.push(finding(primary, "PrimaryReadOnly", v.reason));
  if (v.restore) out.restoreWrites = v.intent;
}

/**
 * After the whole cluster went down (policies/all-down.ts): why the candidate Marina would
 * promote may lose what the last primary was seen to have, or null (none would, or
 * failover.allDown takes the risk).
 */
function allDownBlock(c: DiagnoseCtx, choice: CandidateChoice): string | null {
  const { state, config, now } = c;
  if (!state.allDown || config.failover.allDown !== "waitForPrimary" || !choice.ok) return null;
  const v = choiceLoss(
    state.allDown,
    choice,
    currentObservation(state, config, choice.candidate, now),
  );
  return v.ok ? null : v.reason;
}
