import type { CommandPayload, Compression, ErrorBody } from "@marina/contracts/commands";
import { sshSettingsOf } from "@marina/contracts/config";
import type { ErrorCode } from "@marina/contracts/errors";
import { isGtidList } from "@marina/contracts/gtid";
import { Address, Port } from "@marina/contracts/names";
import { errorBody } from "@marina/contracts/parse";
import { checkFailoverConstraints } from "../constraints.js";
import type { Diagnosis } from "../diagnose.js";
import {
  chooseDonor,
  clearDivergedTags,
  flaggedDiverged,
  hasAgent,
  replicatingFine,
} from "../donors.js";
import { situationEvent } from "../events.js";
import {
  currentObservation,
  isKnownServer,
  observedSinceChange,
  reachability,
  serverConfig,
  sourceOf,
} from "../knowledge.js";
import { cancelOperation, startOperation } from "../operation.js";
import type { DeciderOptions } from "../options.js";
import { noteSituation } from "../situations.js";
import type { AgentCall, Operation, RebuildPlan } from "../state.js";
import { addAgentCall, callByKey, mayBeRunning } from "./agent-calls.js";
import {
  type Env,
  type Next,
  okData,
  type PlanDriver,
  phaseOf,
  type StepSpec,
  stepsOf,
} from "./common.js";

// Rebuild: receive → send → stream → attach. The target's agent stops the server, empties
// its datadir and listens (its reply names the port); the donor's agent streams a physical
// backup there; both publish a final result, the target's with the backup's GTID position.
// Executors then attach the target to the CURRENT primary at that position. On a failure or
// a cancel: both agents are told to cancel, the donor (a replica) is checked to replicate
// again, and a target whose datadir was touched stays flagged diverged for another rebuild.

export type RebuildMethod = "physical" | "logical";

/**
 * The rebuild plan with its method. `method` lives here until RebuildPlan (state.ts) has
 * it; absent means physical (plans recorded before the logical method existed).
 */
type MethodPlan = RebuildPlan & { method?: RebuildMethod };

/** Rebuild tunables; read from the core options when given there (by these names). */
export interface RebuildOptions {
  /** Reply to an agent request: receive-backup answers after stopping and emptying. */
  agentReplyTimeoutMs: number;
  /** The stream, the target's prepare and its start. */
  rebuildStreamTimeoutMs: number;
  /** An automatic rebuild that failed is not tried again on that server for this long. */
  rebuildRetryMs: number;
}

export const defaultRebuildOptions: RebuildOptions = {
  // receive-backup answers once the server stopped (the agent allows 300 s for that).
  agentReplyTimeoutMs: 330_000,
  rebuildStreamTimeoutMs: 7 * 3600_000,
  rebuildRetryMs: 600_000,
};

function rebuildOptions(opts: DeciderOptions): RebuildOptions {
  const extra = opts as DeciderOptions & Partial<RebuildOptions>;
  return {
    agentReplyTimeoutMs: extra.agentReplyTimeoutMs ?? defaultRebuildOptions.agentReplyTimeoutMs,
    rebuildStreamTimeoutMs:
      extra.rebuildStreamTimeoutMs ?? defaultRebuildOptions.rebuildStreamTimeoutMs,
    rebuildRetryMs: extra.rebuildRetryMs ?? defaultRebuildOptions.rebuildRetryMs,
  };
}

function plan(op: Operation): MethodPlan {
  if (op.plan.kind !== "rebuild") throw new Error(`${op.opId} is not a rebuild`);
  return op.plan;
}

/** The method of a rebuild operation (physical unless it was started as logical). */
export function rebuildMethodOf(op: Operation): RebuildMethod {
  return plan(op).method ?? "physical";
}

export type RebuildRequest = Pick<
  CommandPayload<"rebuild">,
  "target" | "source" | "method" | "transport" | "compression" | "tls"
>;

export type RebuildCheck =
  | {
      ok: true;
      target: string;
      source: string;
      /** The source was chosen by the decider (none was given). */
      chosen: boolean;
      targetHost: string;
      sourceHost: string;
      compression: Compression;
      tls: boolean;
      method: RebuildMethod;
    }
  | { ok: false; code: ErrorCode; message: string; path?: string };

function no(code: ErrorCode, message: string, path?: string): RebuildCheck {
  return path === undefined ? { ok: false, code, message } : { ok: false, code, message, path };
}

// Agentless (SSH) calls are addressed to a pseudo host `ssh:<server>`: the colon keeps it
// apart from every agent host id (a HostName has none), and tells the shell to run the
// call over SSH with that server's settings instead of sending it on NATS.
const SSH_HOST_PREFIX = "ssh:";

/** The pseudo host of the agentless calls for `server`. */
export function sshHostOf(server: string): string {
  return `${SSH_HOST_PREFIX}${server}`;
}

/** The server whose agentless calls go to `host`; null for an agent host. */
export function sshServerOf(host: string): string | null {
  return host.startsWith(SSH_HOST_PREFIX) ? host.slice(SSH_HOST_PREFIX.length) : null;
}

/** Whether a rebuild may start now, and from which source; nothing is changed. */
export function checkRebuild(env: Env, req: RebuildRequest): RebuildCheck {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const { target, source } = req;
  if (!isKnownServer(config, target))
    return no("UNKNOWN_SERVER", `${target} is not a server of cluster ${config.name}`, "target");
  if (source !== undefined && !isKnownServer(config, source))
    return no("UNKNOWN_SERVER", `${source} is not a server of cluster ${config.name}`, "source");
  if (state.operation) {
    const op = state.operation;
    return no("OPERATION_IN_PROGRESS", `${op.kind} ${op.opId} is running (phase ${op.phase})`);
  }
  if (target === state.primary)
    return no("REFUSED", `${target} is the primary: switch over first`, "target");
  if (state.maintenance[target])
    return no("REFUSED", `${target} is in maintenance: clear-maintenance first`, "target");
  if (replicatingFine(env, target) && !flaggedDiverged(state, target))
    return no("REFUSED", `${target} replicates fine: nothing to rebuild`, "target");
  const primary = state.primary;
  if (primary === null || reachability(state, config, primary, now) !== "reachable") {
    return no(
      "NOT_APPLICABLE",
      `no reachable primary to attach ${target} to once rebuilt${primary ? ` (${primary} is not reachable)` : ""}`,
    );
  }
  let donor = source;
  if (donor !== undefined) {
    if (donor === target) return no("REFUSED", "source and target are the same server", "source");
    const fine =
      donor === primary ? true : replicatingFine(env, donor) && !flaggedDiverged(state, donor);
    if (!fine)
      return no(
        "REFUSED",
        `${donor} is neither a reachable primary nor a healthy replica`,
        "source",
      );
  } else {
    donor = chooseDonor(env, target) ?? undefined;
    if (donor === undefined)
      return no("NO_CANDIDATE", "no healthy replica nor reachable primary to copy from");
  }
  const checked = `checked: would copy ${donor} to ${target} by ${req.method} backup over ${req.transport}; nothing was done`;
  if (req.transport === "ssh") {
    if (req.method !== "physical")
      return no(
        "NOT_APPLICABLE",
        `a ${req.method} rebuild over ssh is not available (use transport agent, or method physical); ${checked}`,
        "method",
      );
    // Agentless: the decider's shell runs both halves over SSH (hostops); it needs the
    // hosts' SSH settings, and there is no agent heartbeat to wait for.
    const lacking = [target, donor].flatMap((n) => {
      const s = sshSettingsOf(config, n);
      if (s === null) return [`${n} has no ssh settings`];
      return s.ok ? [] : [`${n} lacks ssh ${s.missing.join(", ")}`];
    });
    if (lacking.length > 0) {
      return no(
        "NOT_APPLICABLE",
        `a rebuild over ssh needs ssh settings (clusters[].ssh or servers[].ssh) for both servers: ${lacking.join("; ")}; ${checked}`,
        "transport",
      );
    }
    return {
      ok: true,
      target,
      source: donor,
      chosen: source === undefined,
      targetHost: sshHostOf(target),
      sourceHost: sshHostOf(donor),
      compression: req.compression,
      tls: req.tls,
      method: req.method,
    };
  }
  const missing = [target, donor].filter((n) => !hasAgent(env, n));
  if (missing.length > 0) {
    return no(
      "NOT_APPLICABLE",
      `a rebuild needs a host agent on both servers: ${missing.join(" and ")} ${missing.length > 1 ? "have" : "has"} no agentHost, so a rebuild through agents is not yet available here (or use transport ssh, with ssh settings); ${checked}`,
    );
  }
  const hosts = [target, donor].map((n) => serverConfig(config, n)!.agentHost!);
  const silent = [...new Set(hosts)].filter((h) => {
    const hb = state.heartbeats[h];
    return hb === undefined || now - hb.receivedAt > env.opts.agentHeartbeatFreshMs;
  });
  if (silent.length > 0) {
    return no(
      "SERVER_UNREACHABLE",
      `no recent heartbeat from the agent${silent.length > 1 ? "s" : ""} ${silent.join(" and ")}; ${checked}`,
    );
  }
  return {
    ok: true,
    target,
    source: donor,
    chosen: source === undefined,
    targetHost: serverConfig(config, target)!.agentHost!,
    sourceHost: serverConfig(config, donor)!.agentHost!,
    compression: req.compression,
    tls: req.tls,
    method: req.method,
  };
}

export function startRebuild(
  env: Env,
  check: Extract<RebuildCheck, { ok: true }>,
  o: { requestId: string | null; auto: boolean; reason: string },
): Operation {
  const rebuildPlan: MethodPlan = {
    kind: "rebuild",
    target: check.target,
    source: check.source,
    targetHost: check.targetHost,
    sourceHost: check.sourceHost,
    sourceIsPrimary: check.source === env.state.primary,
    compression: check.compression,
    tls: check.tls,
    auto: o.auto,
    to: null,
    gtid: null,
    primary: null,
  };
  // Physical plans stay exactly as before; only a logical one carries its method.
  if (check.method === "logical") rebuildPlan.method = "logical";
  return startOperation(env, {
    kind: "rebuild",
    requestId: o.requestId,
    reason: o.reason,
    servers: { target: check.target, source: check.source },
    plan: rebuildPlan,
  });
}

/**
 * failover.autoRebuild: the first flagged server (config order) with a source to copy
 * from is rebuilt; one at a time, only when no operation runs and the primary is reachable.
 * A server whose automatic rebuild failed waits rebuildRetryMs before the next try.
 */
export function autoRebuild(env: Env): Operation | null {
  const { state, ctx } = env;
  const { config, now } = ctx;
  if (state.operation !== null || state.primary === null) return null;
  const ro = rebuildOptions(env.opts);
  for (const s of config.servers) {
    const name = s.name;
    if (name === state.primary || state.maintenance[name]) continue;
    const recorded = state.diverged[name] !== undefined;
    // A situation counts only when seen on a sample newer than our last change to it.
    if (!recorded && !(flaggedDiverged(state, name) && observedSinceChange(state, name))) continue;
    const failedAt = state.rebuildFailures[name];
    if (failedAt !== undefined && now - failedAt < ro.rebuildRetryMs) continue;
    const ask = (transport: "agent" | "ssh") =>
      checkRebuild(env, {
        target: name,
        method: "physical",
        transport,
        compression: { kind: "none" },
        tls: false,
      });
    // Through the agents when the target has one, else over SSH when it is configured.
    const check =
      hasAgent(env, name) || sshSettingsOf(config, name) === null ? ask("agent") : ask("ssh");
    if (!check.ok) continue;
    const why = state.diverged[name]?.reason ?? "errant transactions";
    return startRebuild(env, check, {
      requestId: null,
      auto: true,
      reason: `failover.autoRebuild: ${name} diverged (${why}); copying ${check.source}`,
    });
  }
  return null;
}

/**
 * A rebuild may run for hours, and only one operation runs per cluster: when the primary
 * is found dead and an automatic failover would start, the rebuild is cancelled so the
 * failover can start as soon as the agents have stopped.
 */
export function preemptForFailover(env: Env, d: Diagnosis): boolean {
  const { state, ctx } = env;
  const op = state.operation;
  const primary = state.primary;
  if (op?.kind !== "rebuild" || op.status !== "running" || op.cancelRequested) return false;
  if (primary === null || d.assessment?.primary !== primary || d.assessment.verdict !== "dead")
    return false;
  const block = checkFailoverConstraints({
    config: ctx.config,
    now: ctx.now,
    failovers: state.failovers,
    primary,
    primaryInMaintenance: state.maintenance[primary] !== undefined,
    primaryLastObservation: state.lastObservation[primary]?.observation ?? null,
  });
  if (block) return false;
  cancelOperation(env, `the primary ${primary} failed: a failover comes before a rebuild`);
  return true;
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

/** The donor's replication connections to check after a failure (the default one if unknown). */
function donorConnections(env: Env, donor: string): string[] {
  const { config, now } = env.ctx;
  const obs = currentObservation(env.state, config, donor, now) ??
    env.state.lastObservation[donor]?.observation ?? { replication: [] };
  const conns = obs.replication
    .filter((c) => sourceOf(config, c) !== null)
    .map((c) => c.connection);
  return conns.length ? conns : [""];
}

// Refused before the target's agent changed anything (guard, busy, bad request, no agent).
const UNTOUCHED: ReadonlySet<ErrorCode> = new Set([
  "REFUSED",
  "VALIDATION_FAILED",
  "BAD_JSON",
  "UNKNOWN_SERVER",
  "OPERATION_IN_PROGRESS",
  "STALE_EPOCH",
  "FUTURE_EPOCH",
  "LEASE_UNAVAILABLE",
  "NOT_LEADER",
  "SERVER_UNREACHABLE",
]);

/** The target's agent may have stopped the server or emptied its datadir. */
function targetTouched(c: AgentCall | undefined): boolean {
  if (!c || c.attempts === 0) return false;
  if (c.status === "failed" && c.reply === null) {
    const code = c.result?.error?.code;
    return code === undefined || !UNTOUCHED.has(code);
  }
  return true;
}

/** A failed rebuild leaves the target flagged: it needs another rebuild. */
function flagTarget(op: Operation, env: Env, error: ErrorBody) {
  const p = plan(op);
  const { state, ctx } = env;
  const dv = state.diverged[p.target];
  const situation =
    dv?.situation ?? (state.exPrimaries[p.target] ? "OldPrimaryDiverged" : "ServerDiverged");
  const reason = `rebuild ${op.opId} from ${p.source} failed (${error.code}); its datadir may be incomplete: rebuild it again`;
  state.diverged[p.target] = {
    since: dv?.since ?? ctx.now,
    extraGtids: dv?.extraGtids ?? "",
    reason,
    situation,
  };
  delete state.exPrimaries[p.target];
  if (!(state.situations[p.target] ?? []).includes(situation)) {
    noteSituation(state, p.target, situation);
    env.actions.push(
      situationEvent(ctx.config.name, ctx.epoch, situation, p.target, reason, {
        extraGtids: dv?.extraGtids || null,
        details: { opId: op.opId, source: p.source },
      }),
    );
  }
}

function recoverPhase(op: Operation, env: Env): Next | null {
  const p = plan(op);
  const send = callByKey(op, "send");
  if (p.sourceIsPrimary || !send || send.attempts === 0) return null;
  const { state, ctx } = env;
  // With the primary gone a replica cannot be seen replicating: restart its threads only.
  const primaryUp =
    state.primary !== null &&
    reachability(state, ctx.config, state.primary, ctx.now) === "reachable";
  // The donor's agent restarts the SQL threads mariadb-backup stopped; make sure of it.
  const steps: StepSpec[] = donorConnections(env, p.source).flatMap((connection): StepSpec[] => [
    {
      key: `start-${connection}`,
      server: p.source,
      step: { kind: "start-replication", connection },
      bestEffort: true,
    },
    ...(primaryUp
      ? [
          {
            key: `verify-${connection}`,
            server: p.source,
            step: {
              kind: "verify-replicating" as const,
              connection,
              timeoutMs: env.opts.verifyTimeoutMs,
            },
            after: [`start-${connection}`],
            bestEffort: true,
          },
        ]
      : []),
  ]);
  return phaseOf(
    "recover",
    steps,
    env.opts.phaseTimeoutMs,
    `checking that ${p.source} replicates again`,
  );
}

function failedEnd(op: Operation, env: Env, extra = ""): Next {
  const p = plan(op);
  const error = op.error ?? errorBody("INTERNAL", "rebuild failed");
  const flagged = env.state.diverged[p.target] !== undefined;
  const verifies = stepsOf(op, "recover").filter((s) => s.step.kind === "verify-replicating");
  const donor =
    verifies.length === 0
      ? ""
      : verifies.every((s) => s.status === "ok")
        ? `; ${p.source} replicates again`
        : `; ${p.source} does NOT replicate: ${verifies.map((s) => s.result?.error?.message ?? s.status).join("; ")}`;
  return {
    kind: "failed",
    error,
    message: `rebuild of ${p.target} from ${p.source} ${error.code === "CANCELLED" ? "cancelled" : "failed"}: ${error.message}; ${p.target} ${flagged ? "stays flagged for a rebuild" : "was not changed"}${donor}${extra}`,
  };
}

function mb(n: unknown): string {
  return typeof n === "number" ? `${(n / 1048576).toFixed(1)} MB` : "? MB";
}

export const rebuildDriver: PlanDriver = {
  next(op, env) {
    const p = plan(op);
    const ro = rebuildOptions(env.opts);
    const replyDeadline = ro.agentReplyTimeoutMs + env.opts.stepReplyMarginMs;
    const logical = p.method === "logical";
    switch (op.phase) {
      case "": {
        addAgentCall(op, {
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
          replyDeadline,
          logical
            ? `${p.targetHost}: wiping ${p.target} (user databases, binlogs, replication), listening for a dump`
            : `${p.targetHost}: stopping ${p.target}, emptying its datadir, listening`,
        );
      }
      case "receive": {
        const to = endpointOf(callByKey(op, "receive"));
        if (to === null) {
          return rebuildDriver.fail(
            op,
            env,
            errorBody("INTERNAL", `${p.targetHost} accepted without a usable address and port`),
          );
        }
        p.to = to;
        addAgentCall(op, {
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
            ...(logical ? { method: "logical" as const } : {}),
          },
          reportsProgress: true,
          timeoutMs: ro.agentReplyTimeoutMs,
        });
        return phaseOf(
          "send",
          [],
          replyDeadline,
          `${p.target} listens on ${to.address}:${to.port}; ${p.sourceHost} connects to send ${p.source}`,
        );
      }
      case "send":
        return phaseOf(
          "stream",
          [],
          ro.rebuildStreamTimeoutMs,
          `streaming a ${logical ? "logical dump" : "backup"} of ${p.source} into ${p.target} (${p.compression.kind}${p.tls ? ", tls" : ""})`,
        );
      case "stream": {
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
        const semi = env.ctx.config.semiSync;
        const steps: StepSpec[] = [
          { key: "ro", server: p.target, step: { kind: "set-read-only", readOnly: true } },
          {
            key: "semi",
            server: p.target,
            step: semi
              ? { kind: "set-semi-sync", master: false, slave: true }
              : { kind: "set-semi-sync", master: false },
            after: ["ro"],
          },
          // A restored datadir may carry the donor's replication settings: start clean.
          {
            key: "reset",
            server: p.target,
            step: { kind: "reset-replication", connection: "" },
            after: ["ro"],
          },
          {
            key: "pos",
            server: p.target,
            step: { kind: "set-gtid-slave-pos", pos: p.gtid },
            after: ["reset"],
          },
          {
            key: "change",
            server: p.target,
            step: { kind: "change-master", connection: "", source: primary, useGtid: "slave_pos" },
            after: ["pos"],
          },
          {
            key: "start",
            server: p.target,
            step: { kind: "start-replication", connection: "" },
            after: ["change", "semi"],
          },
          {
            key: "verify",
            server: p.target,
            step: {
              kind: "verify-replicating",
              connection: "",
              timeoutMs: env.opts.verifyTimeoutMs,
            },
            after: ["start"],
          },
        ];
        return phaseOf(
          "attach",
          steps,
          env.opts.phaseTimeoutMs,
          `${p.target} restored at ${p.gtid}: attaching it to ${primary}`,
        );
      }
      case "attach": {
        const { state } = env;
        delete state.diverged[p.target];
        delete state.exPrimaries[p.target];
        delete state.rebuildFailures[p.target];
        delete state.rejoinFailures[p.target];
        clearDivergedTags(state, p.target);
        const recv = callByKey(op, "receive")?.result?.data ?? {};
        const verified = okData(op, "attach", "verify") !== null;
        const how = logical
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
      case "abort": {
        const r = recoverPhase(op, env);
        return r ?? failedEnd(op, env);
      }
      case "recover":
        return failedEnd(op, env);
      default:
        return {
          kind: "failed",
          error: errorBody("INTERNAL", `unknown phase ${op.phase}`),
          message: "",
        };
    }
  },

  fail(op, env, error) {
    const p = plan(op);
    if (op.status === "undoing") {
      return failedEnd(op, env, `; cleanup incomplete: ${error.message}`);
    }
    op.status = "undoing";
    op.error = error;
    const recv = callByKey(op, "receive");
    if (targetTouched(recv)) flagTarget(op, env, error);
    if (p.auto) env.state.rebuildFailures[p.target] = env.ctx.now;
    const ro = rebuildOptions(env.opts);
    let cancels = 0;
    for (const c of [recv, callByKey(op, "send")]) {
      if (!c || !mayBeRunning(c)) continue;
      // The agent's cancel answers once the operation ended there (donor replication restored).
      addAgentCall(op, {
        key: `cancel-${c.key}`,
        phase: "abort",
        host: c.host,
        server: c.server,
        action: { action: "cancel", opId: c.id },
        bestEffort: true,
        timeoutMs: ro.agentReplyTimeoutMs,
      });
      cancels += 1;
    }
    if (cancels > 0) {
      return phaseOf(
        "abort",
        [],
        ro.agentReplyTimeoutMs + env.opts.stepReplyMarginMs,
        `rebuild ${error.code === "CANCELLED" ? "cancelled" : "failed"} (${error.message}): cancelling on the agents`,
      );
    }
    return recoverPhase(op, env) ?? failedEnd(op, env);
  },
};
