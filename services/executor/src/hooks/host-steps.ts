// Steps that touch no server (run-hook, ask-veto): the executor runs them without opening a
// database connection. One runner per kind; the mapped type makes a missing one a compile error.
import type { ExecRequest, ExecStep, HostStepKind } from "@marina/contracts";
import type { Logger } from "@marina/runtime";
import type { StepData } from "../steps/context.js";
import type { ResolvedCluster } from "../targets.js";
import { askVeto, type VetoAsker } from "./ask-veto.js";
import { runHook } from "./run-hook.js";

export interface HostStepContext {
  readonly cluster: ResolvedCluster;
  readonly request: ExecRequest;
  readonly log: Logger;
  /** The executor's envelope source (`executor:<id>`). */
  readonly source: string;
  /** NATS request with many replies (the veto subject). */
  readonly ask: VetoAsker;
}

type HostStepOf<K extends HostStepKind> = Extract<ExecStep, { kind: K }>;
type HostStepRunner<K extends HostStepKind> = (
  ctx: HostStepContext,
  step: HostStepOf<K>,
) => Promise<StepData>;

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
