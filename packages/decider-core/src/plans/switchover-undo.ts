import type { Operation, SwitchoverPlan } from "../state.js";
import {
  FENCE,
  makesReadOnly,
  type StepSpec,
  semiSyncWasOn,
  undoPromoteSemi,
  wasSent,
} from "./common.js";

/**
 * What undoes a switchover that failed before promotion: the target replicates from the
 * old primary again, and the old primary is writable again, semi-sync master on where the
 * fence found it on. Only what was sent is undone.
 */
export function undoSteps(op: Operation, p: SwitchoverPlan): StepSpec[] {
  const undo: StepSpec[] = [];
  const conn = p.connection;
  const reset = wasSent(
    op,
    p.target,
    (s) => s.kind === "reset-replication" && s.connection === conn,
  );
  const stopped = wasSent(
    op,
    p.target,
    (s) => s.kind === "stop-replication" && s.connection === conn,
  );
  const unsemi = undoPromoteSemi(op, p.target);
  if (unsemi) undo.push(unsemi);
  if (reset) {
    undo.push({
      key: "reattach",
      server: p.target,
      step: { kind: "change-master", connection: conn, source: p.old, useGtid: "slave_pos" },
      bestEffort: true,
    });
  }
  if (reset || stopped) {
    const before = reset ? ["reattach"] : [];
    undo.push({
      key: "restart",
      server: p.target,
      step: { kind: "start-replication", connection: conn },
      after: unsemi ? [...before, unsemi.key] : before,
      bestEffort: true,
    });
  }
  if (wasSent(op, p.old, makesReadOnly)) {
    undo.push({
      key: "writable",
      server: p.old,
      step: { kind: "set-read-only", readOnly: false },
    });
  }
  if (semiSyncWasOn(op, "demote", FENCE)) {
    undo.push({
      key: "semi",
      server: p.old,
      step: { kind: "set-semi-sync", master: true },
      bestEffort: true,
    });
  }
  return undo;
}
