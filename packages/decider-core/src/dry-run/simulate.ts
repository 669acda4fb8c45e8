import type { DryRunOperation, DryRunPhase } from "@marina/contracts/dry-run";
import { onAgentResult } from "../engine/agent-results.js";
import { onStepResult } from "../engine/step-results.js";
import { describeAgentAction } from "../plans/agent-calls.js";
import type { Env } from "../plans/common.js";
import type { Operation } from "../state.js";
import { describeStep } from "../steps.js";
import type { Action } from "../types.js";
import { agentPrograms } from "./agent-programs.js";
import { type Assumed, assumedAgentResult, assumedStepResult } from "./assumed-results.js";
import { stepSql } from "./step-sql.js";

// The rest of an operation, played forward on the dry-run's copy of the state by the
// operation engine itself: each step and agent call of the current phase is answered with
// an assumed success (assumed-results.ts) and the plan's driver builds the next phase, until
// the operation ends. The first phase is the one the command installs; every later one is
// marked with the assumed results it was built on.

/** Far more answers than any plan needs; a bound against a plan that would not converge. */
const MAX_ANSWERS = 2000;

interface PhaseMark {
  name: string;
  message: string;
  deadlineMs: number | null;
  known: boolean;
  dependsOn: string[];
}

/** Phases installed by the actions since `from`: one mark per phase the engine announced. */
function markPhases(
  env: Env,
  opId: string,
  from: number,
  marks: PhaseMark[],
  known: boolean,
  dependsOn: readonly string[],
) {
  const op = env.state.operation;
  for (const a of env.actions.slice(from)) {
    if (a.kind !== "operation" || a.event.opId !== opId || a.event.state !== "running") continue;
    const name = a.event.phase;
    if (name === "start" || marks.at(-1)?.name === name) continue;
    const deadline =
      op && op.opId === opId && op.phase === name && op.phaseDeadline !== null
        ? op.phaseDeadline - op.phaseStartedAt
        : null;
    marks.push({
      name,
      message: a.event.message,
      deadlineMs: deadline,
      known,
      dependsOn: [...dependsOn],
    });
  }
}

function endOf(actions: readonly Action[], opId: string): DryRunOperation["end"] {
  for (let i = actions.length - 1; i >= 0; i--) {
    const a = actions[i];
    if (a?.kind === "operation" && a.event.opId === opId && a.event.state !== "running") {
      return { state: a.event.state, message: a.event.message };
    }
  }
  return null;
}

/** Answers one thing the operation waits for; false when nothing can be answered. */
function answerOne(env: Env, op: Operation, note: (a: Assumed) => void): boolean {
  const step = op.steps.find((s) => s.phase === op.phase && s.status === "sent");
  if (step) {
    const r = assumedStepResult(env.state, step);
    note(r);
    onStepResult(env, op.opId, step.id, {
      stepId: step.id,
      ok: true,
      executor: "dry-run",
      durationMs: 0,
      data: r.data,
      error: null,
    });
    return true;
  }
  const sent = op.agentCalls.find((c) => c.status === "sent");
  const waited = op.agentCalls.find((c) => c.status === "running" && c.until === op.phase);
  const call = sent ?? waited;
  if (!call) return false;
  const via = sent ? "reply" : "done";
  const server = env.ctx.config.servers.find((s) => s.name === call.server);
  const donor = op.plan.kind === "rebuild" ? op.plan.source : null;
  const r = assumedAgentResult(env.state, call, via, {
    address: server?.host ?? "127.0.0.1",
    donor,
  });
  note(r);
  onAgentResult(env, op.opId, call.key, via, {
    host: call.host,
    opId: call.id,
    ok: true,
    durationMs: 0,
    data: r.data,
    error: null,
  });
  return true;
}

/**
 * Plays `op` (in `env`, the dry-run's copy) forward from the phase the command installed;
 * `from` is where the command's own actions start, `firstStep` the first step it added.
 */
export function simulate(
  env: Env,
  op: Operation,
  from: number,
  firstStep: number,
  firstCall: number,
): Pick<DryRunOperation, "phases" | "end" | "stoppedAt"> & { assumptions: string[] } {
  const marks: PhaseMark[] = [];
  markPhases(env, op.opId, from, marks, true, []);
  const assumed: string[] = [];
  let stoppedAt: string | null = null;
  let answers = 0;
  while (env.state.operation?.opId === op.opId) {
    if (answers >= MAX_ANSWERS) {
      stoppedAt = `${op.phase}: no end after ${MAX_ANSWERS} assumed results`;
      break;
    }
    const at = env.actions.length;
    const phase = op.phase;
    const answered = answerOne(env, op, (a) => {
      if (a.assumption !== null && !assumed.includes(a.assumption)) assumed.push(a.assumption);
    });
    if (!answered) {
      stoppedAt = `${phase}: waits for something no assumed result answers`;
      break;
    }
    answers += 1;
    markPhases(env, op.opId, at, marks, false, assumed);
  }
  const ownSteps = op.steps.slice(firstStep);
  const ownCalls = op.agentCalls.slice(firstCall);
  const keyOf = new Map(op.steps.map((s) => [s.id, s.key]));
  const phases: DryRunPhase[] = marks.map((m) => ({
    ...m,
    steps: ownSteps
      .filter((s) => s.phase === m.name)
      .map((s) => ({
        key: s.key,
        server: s.server,
        step: s.step,
        description: describeStep(s.step),
        after: s.after.map((id) => keyOf.get(id) ?? id),
        bestEffort: s.bestEffort,
        promotes: s.promotes,
        sql: stepSql(s.step, env.ctx.config),
      })),
    agentCalls: ownCalls
      .filter((c) => c.phase === m.name)
      .map((c) => ({
        key: c.key,
        host: c.host,
        server: c.server,
        action: c.action,
        description: describeAgentAction(c.action),
        programs: agentPrograms(c.action),
      })),
  }));
  return { phases, end: endOf(env.actions, op.opId), stoppedAt, assumptions: assumed };
}
