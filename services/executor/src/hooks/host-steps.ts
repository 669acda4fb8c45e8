// Steps that touch no server (run-hook, ask-veto): the executor runs them without opening a
// database connection. One runner per kind; the mapped type makes a missing one a compile error.
import type { ExecStep, HostStepKind } from "@marina/contracts";
import type { StepData } from "../steps/context.js";
import { askVeto } from "./ask-veto.js";
import type { HostStepContext } from "./context.js";
import { runHook } from "./run-hook.js";

type HostStepOf<K extends HostStepKind> = Extract<ExecStep, { kind: K }>;
type HostStepRunner<K extends HostStepKind> = (
  ctx: HostStepContext,
  step: HostStepOf<K>,
) => Promise<StepData>;

export type { HostStepContext, VetoAsker } from "./context.js";

export const hostStepRunners: { readonly [K in HostStepKind]: HostStepRunner<K> } = {
  "run-hook": runHook,
  "ask-veto": askVeto,
};

export function runHostStep(
  ctx: HostStepContext,
  step: HostStepOf<HostStepKind>,
): Promise<StepData> {
  const run = hostStepRunners[step.kind] as HostStepRunner<HostStepKind>;
  return run(ctx, step as never);
}
