import { subjects } from "@marina/contracts";

// The agent's long-action messages, defined in @marina/contracts.

export {
  AgentPhase,
  AgentProgress,
  AgentProgressMessage,
} from "@marina/contracts";

/** Subject builders of long actions (now in contracts' `subjects`). */
export const agentSubjects = {
  progress: subjects.agentProgress,
  done: subjects.agentDone,
  progressAll: subjects.agentProgressAll,
  doneAll: subjects.agentDoneAll,
} as const;
