import { isGtidList } from "@marina/contracts/gtid";
import { Address, Port } from "@marina/contracts/names";
import { errorBody } from "@marina/contracts/parse";
import { clearDivergedTags } from "../donors.js";
import type { AgentCall, Operation } from "../state.js";
import { type AgentCallSpec, addAgentCall, callByKey } from "./agent-calls.js";
import {
  type Env,
  type Next,
  okData,
  type PlanDriver,
  phaseIn,
  phaseOf,
  replicaSemiSyncSides,
  type StepSpec,
  semiSyncStep,
  unknownPhase,
} from "./common.js";
import { abortRebuild, failedEnd, recoverPhase } from "./rebuild-abort.js";
import {
  type MethodPlan,
  type RebuildPhase,
  RebuildPhases,
  rebuildOptions,
  rebuildPlanOf,
} from "./rebuild-plan.js";

// Rebuild: receive → send → stream → attach. Every call goes to the agent a server's
// `agentHost` names — one on the server's machine or one serving it over SSH, the same
// protocol either way. The target's agent stops the server, empties
// its datadir and listens (its reply names the port); the donor's agent streams a physical
// backup there; both publish a final result, the target's with the backup's GTID position.
// Executors then attach the target to the CURRENT primary at that position. On a failure or
// a cancel: see rebuild-abort.ts. Whether a rebuild may start: rebuild-check.ts; when one
// starts by itself, or gives way to a failover: policies/.

type RebuildNext = Next<RebuildPhase>;

/** A call of this plan: its phases are rebuild phases. */
function call(op: Operation, spec: AgentCallSpec<RebuildPhase>): AgentCall {
  return addAgentCall(op, spec);
}

const Endpoint = { address: Address, port: Port };

/** The receiver's address and port from its early reply; null when the reply lacks them. */
function endpointOf(c: AgentCall | undefined): { address: string; port: number } | null {
  const data = c?.reply?.data;
  if (!data) return null;
  const address = Endpoint.address.safeParse(data.address);
  const port = Endpoint.port.safeParse(data.port);
  return address.success && port.success ? { address: address.data, port: port.data } : null;
}

function mb(n: unknown): string {
  return typeof n === "number" ? `${(n / 1048576).toFixed(1)} MB` : "? MB";
}

/** The target's agent stops the server, empties its datadir and listens. */
function receivePhase(op: Operation, env: Env, p: MethodPlan): RebuildNext {
  const ro = rebuildOptions(env.opts);
  const logical = p.method === "logical";
  call(op, {
    key: "receive",
    phase: "receive",
    until: "stream",
    host: p.targetHost,
    server: p.target,
    action: {
      action: "receive-backup",
      server: p.target,
      compression: p.compression,
      tls: p.tls,
      ...(logical ? { method: "logical" as const } : {}),
    },
    timeoutMs: ro.agentReplyTimeoutMs,
  });
  return phaseOf(
    "receive",
    [],
    ro.agentReplyTimeoutMs + env.opts.stepReplyMarginMs,
    logical
      ? `${p.targetHost}: wiping ${p.target} (user databases, binlogs, replication), listening for a dump`
      : `${p.targetHost}: stopping ${p.target}, emptying its datadir, listening`,
  );
}

/** The donor's agent connects to where the target listens and sends. */
function sendPhase(op: Operation, env: Env, p: MethodPlan): RebuildNext {
  const ro = rebuildOptions(env.opts);
  const to = endpointOf(callByKey(op, "receive"));
  if (to === null) {
    return rebuildDriver.fail(
      op,
      env,
      errorBody("INTERNAL", `${p.targetHost} accepted without a usable address and port`),
    );
  }
  p.to = to;
  call(op, {
    key: "send",
    phase: "send",
    until: "stream",
    host: p.sourceHost,
    server: p.source,
    action: {
      action: "send-backup",
      server: p.source,
      compression: p.compression,
      tls: p.tls,
      to,
      ...(p.method === "logical" ? { method: "logical" as const } : {}),
    },
    reportsProgress: true,
    timeoutMs: ro.agentReplyTimeoutMs,
  });
  return phaseOf(
    "send",
    [],
    ro.agentReplyTimeoutMs + env.opts.stepReplyMarginMs,
    `${p.target} listens on ${to.address}:${to.port}; ${p.sourceHost} connects to send ${p.source}`,
  );
}

/** Attaches the restored target to the current primary at the backup's position. */
function attachPhase(op: Operation, env: Env, p: MethodPlan): RebuildNext {
  const recv = callByKey(op, "receive");
  const gtid = recv?.result?.data.gtid;
  if (typeof gtid !== "string" || gtid.trim() === "" || !isGtidList(gtid)) {
    // An empty gtid_slave_pos would replay the primary's binlogs from the start.
    return rebuildDriver.fail(
      op,
      env,
      errorBody(
        "INTERNAL",
        `${p.target} restored without a usable GTID position (${JSON.stringify(gtid)})`,
      ),
    );
  }
  const primary = env.state.primary;
  if (primary === null || primary === p.target) {
    return rebuildDriver.fail(
      op,
      env,
      errorBody("NOT_APPLICABLE", `no primary to attach ${p.target} to`),
    );
  }
  p.gtid = gtid.trim();
  p.primary = primary;
  return phaseOf(
    "attach",
    attachSteps(env, p.target, p.gtid, primary),
    env.opts.phaseTimeoutMs,
    `${p.target} restored at ${p.gtid}: attaching it to ${primary}`,
  );
}

function attachSteps(env: Env, target: string, gtid: string, primary: string): StepSpec[] {
  return [
    // Not a fence (fenceStep): the target was just restored from a backup and restarted
    // by its agent, so it has no clients to kill and no commit waiting for a semi-sync
    // ack to release; plain read_only=1, then semi-sync master off, is enough here.
    { key: "ro", server: target, step: { kind: "set-read-only", readOnly: true } },
    {
      key: "semi",
      server: target,
      step: semiSyncStep(env.ctx.config, replicaSemiSyncSides(env, target)),
      after: ["ro"],
    },
    // A restored datadir may carry the donor's replication settings: start clean.
    {
      key: "reset",
      server: target,
      step: { kind: "reset-replication", connection: "" },
      after: ["ro"],
    },
    {
      key: "pos",
      server: target,
      step: { kind: "set-gtid-slave-pos", pos: gtid },
      after: ["reset"],
    },
    {
      key: "change",
      server: target,
      step: { kind: "change-master", connection: "", source: primary, useGtid: "slave_pos" },
      after: ["pos"],
    },
    {
      key: "start",
      server: target,
      step: { kind: "start-replication", connection: "" },
      after: ["change", "semi"],
    },
    {
      key: "verify",
      server: target,
      step: { kind: "verify-replicating", connection: "", timeoutMs: env.opts.verifyTimeoutMs },
      after: ["start"],
    },
  ];
}

/** Attached: the target is no longer flagged. */
function rebuilt(op: Operation, env: Env, p: MethodPlan): RebuildNext {
  const { state } = env;
  delete state.diverged[p.target];
  delete state.exPrimaries[p.target];
  delete state.rebuildFailures[p.target];
  delete state.rejoinFailures[p.target];
  clearDivergedTags(state, p.target);
  const recv = callByKey(op, "receive")?.result?.data ?? {};
  const verified = okData(op, "attach", "verify") !== null;
  const how =
    p.method === "logical"
      ? `logical dump, ${mb(recv.bytes)} loaded`
      : `${mb(recv.bytes)} streamed, datadir ${mb(recv.datadirBytes)}`;
  // The target's agent kept its old binlogs (the extra events) when configured to.
  const saved =
    typeof recv.savedBinlogs === "string"
      ? `; its old binlogs were saved in ${recv.savedBinlogs}`
      : "";
  return {
    kind: "done",
    message: `${p.target} rebuilt from ${p.source} (${how}) at ${p.gtid}; ${verified ? "replicates" : "attached"} from ${p.primary}${saved}`,
  };
}

export const rebuildDriver: PlanDriver<RebuildPhase> = {
  next(op, env) {
    const p = rebuildPlanOf(op);
    const phase = phaseIn(op, RebuildPhases);
    switch (phase) {
      case "":
        return receivePhase(op, env, p);
      case "receive":
        return sendPhase(op, env, p);
      case "send":
        return phaseOf(
          "stream",
          [],
          rebuildOptions(env.opts).rebuildStreamTimeoutMs,
          `streaming a ${p.method === "logical" ? "logical dump" : "backup"} of ${p.source} into ${p.target} (${p.compression.kind}${p.tls ? ", tls" : ""})`,
        );
      case "stream":
        return attachPhase(op, env, p);
      case "attach":
        return rebuilt(op, env, p);
      case "abort":
        return recoverPhase(op, env) ?? failedEnd(op, env);
      case "recover":
        return failedEnd(op, env);
      case null:
        return unknownPhase(op);
      default: {
        const never: never = phase;
        return never;
      }
    }
  },

  fail(op, env, error) {
    return abortRebuild(op, env, error);
  },
};
