import { type ClusterConfig, strictDurability } from "@marina/contracts/config";
import type { ExecResult, ExecStep } from "@marina/contracts/executor";
import {
  formatGtidList,
  type GtidList,
  hasTransaction,
  parseGtidList,
  positionOf,
  union,
} from "@marina/contracts/gtid";
import { type ServerObservation, semiSyncIsStrict } from "@marina/contracts/health";
import { connectionsTo, currentObservation } from "./knowledge.js";
import { type Env, semiSyncStep } from "./plans/common.js";
import { historyOf } from "./plans/rejoin.js";
import type { DeciderState } from "./state.js";
import { describeStep, replyTimeoutMs, stepAction } from "./steps.js";
import { writableOthers } from "./writable.js";

// A primary that is read-only while Marina holds it to be THE primary: it restarted with
// read_only=ON in its configuration (the recommended setting: a server that restarts never
// comes back writable by itself, so a returning OLD primary is never a second writer), or
// someone set it. Marina turns writes back on only when that can neither make a second
// writer nor build on a history that lost something:
//   - failover.restoreWrites is on, the server is not in maintenance, no operation runs;
//   - no other server that may be reachable is writable (the write guard's rule);
//   - no reachable server has received a transaction of the primary's domains that the
//     primary lacks (a primary that lost commits in a crash is left read-only: switch over
//     to the server that has them, or rebuild);
//   - with `semiSync`, semi-sync master is on first, which waits for a replica to be
//     connected to it (else the first write would stall for rpl_semi_sync_master_timeout).
// The chain is [semi-sync master on →] read_only=0, each step sent when the one before
// answered ok; re-sent only after enforceRetryMs if the samples still show it read-only.

export interface RestoreIntent {
  server: string;
  semiSyncFirst: boolean;
  why: string;
}

export type ReadOnlyPrimaryVerdict =
  | { restore: true; intent: RestoreIntent; reason: string }
  | { restore: false; reason: string };

/**
 * GTIDs `obs` received (applied or in its relay log), in the primary's domains (those of its
 * history, and its own gtid_domain_id: a primary that came back with no history at all must
 * not be writable beside replicas that have one), that the primary's `history` lacks.
 */
function missingFrom(obs: ServerObservation, history: GtidList, ownDomain: number): GtidList {
  const domains = new Set([...history.map((g) => g.domain), ownDomain]);
  const received = positionOf(
    union(
      parseGtidList(obs.gtidCurrentPos),
      ...obs.replication.map((c) => parseGtidList(c.gtidIoPos)),
    ),
  ).filter((g) => domains.has(g.domain));
  return received.filter((g) => !hasTransaction(history, g));
}

export function assessReadOnlyPrimary(
  state: DeciderState,
  config: ClusterConfig,
  now: number,
  primary: string,
  primaryObs: ServerObservation,
  primaryHistory: GtidList,
): ReadOnlyPrimaryVerdict {
  const no = (why: string): ReadOnlyPrimaryVerdict => ({
    restore: false,
    reason: `${primary} is read-only; left so: ${why}`,
  });
  if (!config.failover.restoreWrites) return no("failover.restoreWrites is off");
  if (state.maintenance[primary]) return no("it is in maintenance");
  if (state.operation !== null) return no(`operation ${state.operation.opId} is running`);
  const offenders = writableOthers(state, config, primary, now);
  if (offenders.length > 0) return no(`${offenders.join(", ")} may be writable`);
  for (const s of config.servers) {
    // A diverged or fenced former primary's extra transactions were given up by the failover.
    if (s.name === primary || state.diverged[s.name] || state.exPrimaries[s.name]) continue;
    const obs = currentObservation(state, config, s.name, now);
    if (!obs) continue;
    const lacks = missingFrom(obs, primaryHistory, primaryObs.gtidDomainId);
    if (lacks.length > 0) {
      return no(
        `${s.name} has ${formatGtidList(lacks)} that ${primary} lacks: switch over to it or rebuild ${primary}`,
      );
    }
  }
  const semiSyncFirst =
    config.semiSync !== false &&
    (!primaryObs.semiSync.masterEnabled ||
      (strictDurability(config) && !semiSyncIsStrict(primaryObs.semiSync)));
  // With semi-sync master on and no replica to ack, the first write would stall for
  // rpl_semi_sync_master_timeout and then go through unreplicated: wait for one.
  if (config.semiSync) {
    const connected = config.servers.some((s) => {
      const obs = currentObservation(state, config, s.name, now);
      if (!obs?.semiSync.slaveEnabled) return false;
      return connectionsTo(config, obs, primary).some((c) => c.ioThread === "Yes");
    });
    if (!connected) return no("semi-sync: waiting for a semi-sync replica to connect to it");
  }
  const why = `${primary} is the primary and read-only; no other server is writable or ahead of it`;
  return {
    restore: true,
    intent: { server: primary, semiSyncFirst, why },
    reason: `${why}: ${semiSyncFirst ? "semi-sync master on, then " : ""}read_only=0`,
  };
}

const SEMI = "semi";
const WRITABLE = "writable";

/**
 * One step outside any operation (restoring writes, enforcement fences, strict settings):
 * stepId `<opId>-<stage>`, described as `<why>: <step> on <server>`.
 */
export function sendStep(
  env: Env,
  server: string,
  opId: string,
  stage: string,
  step: ExecStep,
  why: string,
) {
  if (step.kind === "set-read-only" && !step.readOnly) {
    // From now on the server may be writable, whatever the reply says.
    env.state.readOnly[server] = { readOnly: false, at: env.ctx.now, by: "step", pending: true };
  }
  const request = {
    cluster: env.state.cluster,
    server,
    opId,
    stepId: `${opId}-${stage}`,
    epoch: env.ctx.epoch,
    step,
  };
  env.actions.push(
    stepAction(
      request,
      replyTimeoutMs(step, env.opts),
      `${why}: ${describeStep(step)} on ${server}`,
    ),
  );
}

export function sendRestoreWrites(env: Env, intent: RestoreIntent) {
  const { state, ctx } = env;
  const have = state.writesRestored[intent.server];
  if (have && ctx.now - have.sentAt < env.opts.enforceRetryMs) return;
  const opId = ctx.newOpId();
  state.writesRestored[intent.server] = { opId, sentAt: ctx.now };
  if (intent.semiSyncFirst) {
    sendStep(
      env,
      intent.server,
      opId,
      SEMI,
      semiSyncStep(env.ctx.config, { master: true }),
      intent.why,
    );
  } else {
    sendStep(
      env,
      intent.server,
      opId,
      WRITABLE,
      { kind: "set-read-only", readOnly: false },
      intent.why,
    );
  }
}

/** Result of a restore step; false when the id is not one of ours. */
export function onRestoreResult(
  env: Env,
  opId: string,
  stepId: string,
  result: ExecResult,
): boolean {
  const entry = Object.entries(env.state.writesRestored).find(([, v]) => v.opId === opId);
  if (!entry) return false;
  const [server] = entry;
  if (!result.ok) return true;
  env.state.stepContact[server] = env.ctx.now;
  if (stepId === `${opId}-${WRITABLE}`) {
    env.state.readOnly[server] = { readOnly: false, at: env.ctx.now, by: "step", pending: false };
    return true;
  }
  if (stepId !== `${opId}-${SEMI}`) return true;
  // Semi-sync master is on: writes resume only if the whole assessment still says so.
  const { state, ctx } = env;
  const obs = currentObservation(state, ctx.config, server, ctx.now);
  const verdict =
    state.primary === server && obs !== null
      ? assessReadOnlyPrimary(state, ctx.config, ctx.now, server, obs, historyOf(obs))
      : null;
  if (verdict?.restore) {
    const why = `restoring writes on ${server}, semi-sync master is on`;
    sendStep(env, server, opId, WRITABLE, { kind: "set-read-only", readOnly: false }, why);
  }
  return true;
}
