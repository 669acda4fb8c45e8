import type { FailoverPlan, Operation } from "../state.js";
import {
  FENCE,
  makesReadOnly,
  type StepSpec,
  semiSyncWasOn,
  stepByKey,
  undoPromoteSemi,
  wasSent,
} from "./common.js";
import { detachKey, PULL_CONNECTION } from "./failover-phases.js";

/**
 * What undoes a failover that failed before promotion: the candidate replicates from the
 * failed primary again (its pull connection removed), the replicas the detach stopped
 * restart, and a fenced old primary (forced failover) is made writable again, semi-sync
 * master on where the fence found it on. Only what was sent is undone.
 */
export function undoSteps(op: Operation, p: FailoverPlan): StepSpec[] {
  return [...undoCandidate(op, p), ...undoDetach(op, p), ...undoFence(op, p)];
}

/** The candidate: its pull connection removed, its connection to the failed primary back. */
function undoCandidate(op: Operation, p: FailoverPlan): StepSpec[] {
  const undo: StepSpec[] = [];
  const c = p.candidate;
  if (c !== null && p.connection !== null) {
    const conn = p.connection;
    const pulled = wasSent(
      op,
      c,
      (s) => s.kind === "change-master" && s.connection === PULL_CONNECTION,
    );
    if (pulled) {
      undo.push(
        {
          key: "pull-stop",
          server: c,
          step: { kind: "stop-replication", connection: PULL_CONNECTION },
          bestEffort: true,
        },
        {
          key: "pull-reset",
          server: c,
          step: { kind: "reset-replication", connection: PULL_CONNECTION },
          after: ["pull-stop"],
          bestEffort: true,
        },
      );
    }
    const reset = wasSent(op, c, (s) => s.kind === "reset-replication" && s.connection === conn);
    const stopped = wasSent(op, c, (s) => s.kind === "stop-replication" && s.connection === conn);
    const unsemi = undoPromoteSemi(op, c);
    if (unsemi) undo.push(unsemi);
    if (reset) {
      undo.push({
        key: "reattach",
        server: c,
        step: { kind: "change-master", connection: conn, source: p.failed, useGtid: "slave_pos" },
        after: pulled ? ["pull-reset"] : [],
        bestEffort: true,
      });
    }
    if (reset || stopped) {
      const before = reset ? ["reattach"] : pulled ? ["pull-reset"] : [];
      undo.push({
        key: "restart",
        server: c,
        step: { kind: "start-replication", connection: conn },
        after: unsemi ? [...before, unsemi.key] : before,
        bestEffort: true,
      });
    }
  }
  return undo;
}

function undoDetach(op: Operation, p: FailoverPlan): StepSpec[] {
  const undo: StepSpec[] = [];
  // Replicas stopped by the detach phase replicate from the old primary again.
  for (const r of p.repoint) {
    const stopped = stepByKey(op, "detach", detachKey(r.server, r.connection));
    if (!stopped || stopped.attempts === 0) continue;
    undo.push({
      key: `restart-${r.server}-${r.connection}`,
      server: r.server,
      step: { kind: "start-replication", connection: r.connection },
      bestEffort: true,
    });
  }
  return undo;
}

/** A forced failover's fenced old primary: writable again, semi-sync master as it was. */
function undoFence(op: Operation, p: FailoverPlan): StepSpec[] {
  const undo: StepSpec[] = [];
  if (p.fenceOld && wasSent(op, p.failed, makesReadOnly)) {
    undo.push({
      key: "unfence",
      server: p.failed,
      step: { kind: "set-read-only", readOnly: false },
    });
    // Semi-sync master back on where the fence turned it off.
    if (semiSyncWasOn(op, "fence", FENCE)) {
      undo.push({
        key: "unfence-semi",
        server: p.failed,
        step: { kind: "set-semi-sync", master: true },
        after: ["unfence"],
        bestEffort: true,
      });
    }
  }
  return undo;
}
