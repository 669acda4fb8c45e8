import type { CommandPayload, Compression } from "@marina/contracts/commands";
import type { ErrorCode } from "@marina/contracts/errors";
import { chooseDonor, flaggedDiverged, hasAgent, replicatingFine } from "../donors.js";
import { isKnownServer, reachability, serverConfig } from "../knowledge.js";
import type { Env, StartSpec } from "./common.js";
import type { MethodPlan, RebuildMethod } from "./rebuild-plan.js";

// Whether a rebuild may start, from which source and through which agents (each server's
// `agentHost`, on its machine or serving it over SSH); and the operation that starts it. Used by the rebuild command and the automatic-rebuild policy.

export type RebuildRequest = Pick<
  CommandPayload<"rebuild">,
  "target" | "source" | "method" | "compression" | "tls"
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

type Refusal = Extract<RebuildCheck, { ok: false }>;

function no(code: ErrorCode, message: string, path?: string): Refusal {
  return path === undefined ? { ok: false, code, message } : { ok: false, code, message, path };
}

/** Whether a rebuild may start now, and from which source; nothing is changed. */
export function checkRebuild(env: Env, req: RebuildRequest): RebuildCheck {
  const refused = refuseTarget(env, req);
  if (refused) return refused;
  const donor = donorFor(env, req);
  if (typeof donor !== "string") return donor;
  const { target } = req;
  const checked = `checked: would copy ${donor} to ${target} by ${req.method} backup; nothing was done`;
  return throughAgents(env, req, donor, checked);
}

/** Why the target cannot be rebuilt now (unknown servers, busy, primary, ...); null if it can. */
function refuseTarget(env: Env, req: RebuildRequest): Refusal | null {
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
  return null;
}

/** The given source if it will do, else the chosen one; a refusal when none will. */
function donorFor(env: Env, req: RebuildRequest): string | Refusal {
  const { state } = env;
  const { target, source } = req;
  if (source === undefined) {
    return (
      chooseDonor(env, target) ??
      no("NO_CANDIDATE", "no healthy replica nor reachable primary to copy from")
    );
  }
  if (source === target) return no("REFUSED", "source and target are the same server", "source");
  const fine =
    source === state.primary
      ? true
      : replicatingFine(env, source) && !flaggedDiverged(state, source);
  if (!fine)
    return no(
      "REFUSED",
      `${source} is neither a reachable primary nor a healthy replica`,
      "source",
    );
  return source;
}

/**
 * Both servers need an agent host, and each agent a recent heartbeat (an agent serving
 * several servers, over SSH or not, has one heartbeat for all of them).
 */
function throughAgents(
  env: Env,
  req: RebuildRequest,
  donor: string,
  checked: string,
): RebuildCheck {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const { target } = req;
  const missing = [target, donor].filter((n) => !hasAgent(env, n));
  if (missing.length > 0) {
    return no(
      "NOT_APPLICABLE",
      `a rebuild needs a host agent on both servers: ${missing.join(" and ")} ${missing.length > 1 ? "have" : "has"} no agentHost, so a rebuild is not available here (agentHost names the agent that serves a server, on its machine or over SSH: see docs/configuration.md); ${checked}`,
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
    chosen: req.source === undefined,
    targetHost: serverConfig(config, target)!.agentHost!,
    sourceHost: serverConfig(config, donor)!.agentHost!,
    compression: req.compression,
    tls: req.tls,
    method: req.method,
  };
}

/** The operation that rebuilds a checked target (startOperation runs it). */
export function rebuildStart(
  env: Env,
  check: Extract<RebuildCheck, { ok: true }>,
  o: { requestId: string | null; auto: boolean; reason: string },
): StartSpec {
  const plan: MethodPlan = {
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
  if (check.method === "logical") plan.method = "logical";
  return {
    kind: "rebuild",
    requestId: o.requestId,
    reason: o.reason,
    servers: { target: check.target, source: check.source },
    plan,
  };
}
