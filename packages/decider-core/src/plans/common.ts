import type { ErrorBody } from "@marina/contracts/commands";
import { strictDurability } from "@marina/contracts/config";
import type { ExecStep } from "@marina/contracts/executor";
import type { HistoryRequest } from "@marina/contracts/history";
import type { OperationKind } from "@marina/contracts/operations";
import { errorBody } from "@marina/contracts/parse";
import { neverPromoted } from "../knowledge.js";
import type { DeciderOptions } from "../options.js";
import type { DeciderState, Operation, OpStep, Plan } from "../state.js";
import type { Action, Ctx } from "../types.js";

/** A step as a plan describes it; the engine gives it an id and tracks it. */
export interface StepSpec {
  key: string;
  server: string;
  step: ExecStep;
  /** Keys of steps in the same phase that must succeed first. */
  after?: string[];
  bestEffort?: boolean;
  /** Sending this step is the point of no return (the new primary becomes writable). */
  promotes?: boolean;
}

/**
 * A plan's next move. `P` is the plan's phase union (FailoverPhase, ...): a driver can only
 * name phases it knows. The persisted operation keeps its phase as a plain string.
 */
export type Next<P extends string = string> =
  | { kind: "phase"; phase: P; steps: StepSpec[]; deadlineMs: number | null; message: string }
  | { kind: "done"; message: string }
  | { kind: "failed"; error: ErrorBody; message: string };

/** What a plan driver may read and change while deciding its next phase. */
export interface Env {
  state: DeciderState;
  ctx: Ctx;
  opts: DeciderOptions;
  actions: Action[];
  /** The plan of every operation kind, handed to the operation engine (see plans/index.ts). */
  plans: PlanRegistry;
  /** The command being handled, if any: an operation it starts keeps it for its history. */
  request?: { requestId: string; request: HistoryRequest };
}

export interface PlanDriver<P extends string = string> {
  /** The current phase finished (phase "" at the start): what comes next. */
  next(op: Operation, env: Env): Next<P>;
  /** A step failed for good, a deadline passed or a cancel came: undo or give up. */
  fail(op: Operation, env: Env, error: ErrorBody): Next<P>;
}

/**
 * One driver per plan kind; the mapped type makes a missing kind a compile error. (A
 * `provision` operation is run by the decider service, not by this engine: it has no plan.)
 */
export type PlanRegistry = { readonly [K in Plan["kind"]]: PlanDriver };

/** An operation to start, as a command or a policy describes it. */
export interface StartSpec {
  kind: OperationKind;
  plan: Plan;
  reason: string;
  requestId: string | null;
  servers: Record<string, string>;
}

/**
 * The operation's phase as one of its plan's phases (`phases`, the plan's list); null for a
 * phase the plan does not know (a state written by another version).
 */
export function phaseIn<P extends string>(op: Operation, phases: readonly P[]): P | null {
  return (phases as readonly string[]).includes(op.phase) ? (op.phase as P) : null;
}

export function unknownPhase(op: Operation): Next<never> {
  return { kind: "failed", error: errorBody("INTERNAL", `unknown phase ${op.phase}`), message: "" };
}

export function stepsOf(op: Operation, phase: string): OpStep[] {
  return op.steps.filter((s) => s.phase === phase);
}

export function stepByKey(op: Operation, phase: string, key: string): OpStep | undefined {
  return op.steps.find((s) => s.phase === phase && s.key === key);
}

/** True when a step of that kind on that server was sent (it may have taken effect). */
export function wasSent(op: Operation, server: string, pred: (s: ExecStep) => boolean): boolean {
  return op.steps.some((s) => s.server === server && s.attempts > 0 && pred(s.step));
}

/**
 * Undoing a promotion's semi-sync step (slave side off; with strict durability master on):
 * the server is a replica again, so its master side goes off before its replication
 * restarts (a master semi-sync setting stalls a log_slave_updates replica's SQL thread —
 * for ever with strict's timeout) and its slave side comes back on. Null when none was sent.
 */
export function undoPromoteSemi(op: Operation, server: string, key = "unsemi"): StepSpec | null {
  const sent = op.steps.find(
    (s) =>
      s.server === server &&
      s.attempts > 0 &&
      s.step.kind === "set-semi-sync" &&
      s.step.slave === false,
  );
  if (sent?.step.kind !== "set-semi-sync") return null;
  return {
    key,
    server,
    step: {
      kind: "set-semi-sync",
      master: false,
      slave: true,
      ...(sent.step.strict ? { strict: true } : {}),
    },
    bestEffort: true,
  };
}

/**
 * A server that leaves the primary role for a replica's: its semi-sync master side off and
 * slave side on. With strict durability its master side may still be on (fences keep it)
 * with a commit waiting for an ack — from a SUPER session that wrote through read_only:
 * turning it off would answer that commit OK. So there the master side goes off inside a
 * fence that first kills every client session, privileged ones too (`key`-fence), and the
 * slave side follows. `mayWait`: the server may have been a primary (else a replica's
 * readers are left alone). `after`: what the first step waits for. Returns the steps and the
 * key of the last one.
 */
export function semiSyncToReplica(
  env: Env,
  server: string,
  o: { key: string; after: string[]; bestEffort: boolean; mayWait: boolean },
): { steps: StepSpec[]; last: string } {
  const { key, after, bestEffort } = o;
  const durability = env.ctx.config;
  const sides = replicaSemiSyncSides(env, server);
  if (!strictDurability(durability) || !o.mayWait) {
    return {
      steps: [{ key, server, step: semiSyncStep(durability, sides), after, bestEffort }],
      last: key,
    };
  }
  const fence = `${key}-fence`;
  return {
    steps: [
      // Not fenceExecStep(durability): this one must turn semi-sync master off.
      { key: fence, server, step: { kind: "fence", kill: "all" }, after, bestEffort },
      {
        key,
        server,
        step: semiSyncStep(durability, { slave: sides.slave === true }),
        after: [fence],
        bestEffort,
      },
    ],
    last: key,
  };
}

/**
 * A replica's semi-sync sides: master off; with semi-sync, slave on only where the server
 * may acknowledge writes — not on one that is never promoted (promotion never, or delayed:
 * durability.ts, diagnoseAcknowledgers).
 */
export function replicaSemiSyncSides(env: Env, server: string): { master: false; slave?: boolean } {
  if (!env.ctx.config.semiSync) return { master: false };
  return { master: false, slave: neverPromoted(env.state, env.ctx.config, server) === null };
}

export function okData(op: Operation, phase: string, key: string): Record<string, unknown> | null {
  const s = stepByKey(op, phase, key);
  return s && s.status === "ok" && s.result ? s.result.data : null;
}

export function failedLanes(op: Operation, phase: string): string[] {
  return stepsOf(op, phase)
    .filter((s) => s.status === "failed")
    .map((s) => `${s.server} ${s.step.kind}: ${s.result?.error?.message ?? "failed"}`);
}

export function phaseOf<P extends string>(
  phase: P,
  steps: StepSpec[],
  deadlineMs: number | null,
  message: string,
): Next<P> {
  return { kind: "phase", phase, steps, deadlineMs, message };
}

/** Key of the step fenceStep makes. */
export const FENCE = "fence";

/**
 * The one fence, used by every plan, the write guard and the read-only enforcement: a single
 * executor step (`fence`) that issues read_only=1, kills the clients while it waits for the
 * commits in flight, and turns semi-sync master off only after — the order that never
 * releases a commit waiting for a semi-sync ack as an acknowledged write (see the
 * executor's fence-server step). `kill` false leaves client sessions (a replica's readers);
 * `killPrivileged` false spares SUPER/READ_ONLY ADMIN sessions (a switchover without force).
 */
export function fenceStep(
  durability: Durability,
  server: string,
  kill: boolean,
  killPrivileged = true,
  key: string = FENCE,
): StepSpec {
  return { key, server, step: fenceExecStep(durability, kill, killPrivileged) };
}

/** With strict durability the fence leaves semi-sync master as it is (see the contract). */
export function fenceExecStep(
  durability: Durability,
  kill: boolean,
  killPrivileged = true,
): ExecStep {
  // Only strict durability adds the field: the step other executors see stays as it was.
  return {
    kind: "fence",
    kill: !kill ? "none" : killPrivileged ? "all" : "unprivileged",
    ...(strictDurability(durability) ? { semiSync: "keep" as const } : {}),
  };
}

/** What a cluster's config says about durability (`semiSync`: false, true or "strict"). */
export type Durability = { readonly semiSync: boolean | "strict" };

/**
 * set-semi-sync with the sides given; with strict durability also the settings that make
 * semi-sync never fall back (timeout at its maximum, wait_no_slave), on every server Marina
 * promotes, rejoins or repoints.
 */
export function semiSyncStep(
  durability: Durability,
  sides: { master?: boolean; slave?: boolean },
): ExecStep {
  return {
    kind: "set-semi-sync",
    ...sides,
    ...(strictDurability(durability) ? { strict: true } : {}),
  };
}

/** A step that makes its server read-only (a fence, or read_only=1). */
export function makesReadOnly(step: ExecStep): boolean {
  return step.kind === "fence" || (step.kind === "set-read-only" && step.readOnly);
}

/** The fence step `key` of `phase` turned semi-sync master off where it was on. */
export function semiSyncWasOn(op: Operation, phase: string, key: string): boolean {
  const previous = okData(op, phase, key)?.previous;
  return (
    typeof previous === "object" &&
    previous !== null &&
    (previous as { master?: unknown }).master === true
  );
}

/**
 * A promotion: `first` (the candidate's replication stopped and reset), then semi-sync
 * slave off (with `semiSync`; with strict durability semi-sync master on, strictly, too:
 * no write is ever acknowledged without a replica's ack, so writes wait until one
 * replicates from it), then read_only off — the point of no return, sent through the
 * engine's write guard.
 */
export function promoteSteps(
  server: string,
  first: StepSpec[],
  durability: Durability,
): StepSpec[] {
  const steps = [...first];
  let last = first[first.length - 1]!.key;
  if (durability.semiSync) {
    steps.push({
      key: "semi",
      server,
      step: semiSyncStep(
        durability,
        strictDurability(durability) ? { slave: false, master: true } : { slave: false },
      ),
      after: [last],
    });
    last = "semi";
  }
  steps.push({
    key: "writable",
    server,
    step: { kind: "set-read-only", readOnly: false },
    after: [last],
    promotes: true,
  });
  return steps;
}
