import { errorBody } from "@marina/contracts/parse";
import type { PlanDriver } from "./common.js";

// Rebuild execution (agent streaming a backup) is not implemented yet: the rebuild command
// validates and answers NOT_APPLICABLE, so no rebuild operation is ever started. The driver
// exists to keep the operation kinds exhaustive.
const notYet = errorBody("NOT_APPLICABLE", "rebuild execution not yet available");

export const rebuildDriver: PlanDriver = {
  next: () => ({ kind: "failed", error: notYet, message: notYet.message }),
  fail: (_op, _env, error) => ({ kind: "failed", error, message: error.message }),
};
