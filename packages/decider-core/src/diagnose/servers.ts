import { hasTransaction, parseGtidList } from "@marina/contracts/gtid";
import type { ServerObservation } from "@marina/contracts/health";
import {
  currentObservation,
  knownWritable,
  observedSinceChange,
  reachability,
} from "../knowledge.js";
import { checkRejoin } from "../plans/rejoin.js";
import { otherStreamPrimary } from "../writable.js";
import { pushFor, type ServerCtx } from "./findings.js";
import { confirmedErrant, diagnoseReplica, diagnoseStray, errantReason } from "./replicas.js";

// Every server but the primary: in maintenance, unreachable, flagged diverged, a former
// primary that returned, a stray or a replica (replicas.ts); and writable when it should not be.

export function diagnoseServer(c: ServerCtx) {
  const { state, config, now, name, out } = c;
  const push = pushFor(c);
  if (state.maintenance[name]) {
    push("MaintenanceSet", state.maintenance[name]?.reason || "in maintenance");
    return;
  }
  const reach = reachability(state, config, name, now);
  const ex = state.exPrimaries[name];
  const inOperation = state.operation?.steps.some((x) => x.server === name) ?? false;
  if (reach === "reachable" && (inOperation || !observedSinceChange(state, name))) {
    out.carry.push(name);
    return;
  }
  if (reach === "unreachable") {
    if (!ex) push("ReplicaUnreachable", "no monitor reaches it");
    return;
  }
  const obs = currentObservation(state, config, name, now);
  if (!obs) return;
  const writable = knownWritable(state, name);

  const dv = state.diverged[name];
  const errantNow = dv?.errant ? confirmedErrant(c, obs) : null;
  // Unflagged only when the primary has every GTID it was flagged for (not merely when none
  // is seen now: a flashback or a reset may have hidden them without the primary having them).
  const primaryHasThem =
    c.primaryHistory !== null &&
    parseGtidList(dv?.extraGtids ?? "").every((g) => hasTransaction(c.primaryHistory!, g));
  if (errantNow === "" && primaryHasThem) {
    // The primary has them now: a replica of the topology again (confirmedErrant checked
    // that it replicates from it; it counts as attached from the next diagnosis on).
    out.undiverged.push(name);
    diagnoseReplica(c, obs);
    diagnoseWritable(c, writable);
    return;
  }
  if (dv) {
    if (errantNow && errantNow !== dv.extraGtids && c.primary !== null) {
      // More errant transactions since it was flagged: flagged again (and saved again).
      const reason = errantReason(errantNow, c.primary);
      out.diverged.push({
        server: name,
        extra: errantNow,
        reason,
        situation: dv.situation,
        errant: true,
      });
    }
    const what = dv.errant
      ? "excluded from promotion; repair it with flashback or rebuild"
      : "left read-only for a rebuild";
    push(dv.situation, `${dv.reason}: ${what}`, { extraGtids: dv.extraGtids });
    if (writable) out.fences.push({ server: name, kill: true, why: "diverged server is writable" });
    return;
  }
  if (ex) {
    diagnoseFormerPrimary(c, obs, writable);
    return;
  }
  if (c.primary !== null && !c.attached.has(name)) {
    if (diagnoseStray(c, obs, writable) === "diverged") return;
  } else {
    diagnoseReplica(c, obs);
  }
  diagnoseWritable(c, writable);
}

/** A former primary reachable again: diverged (fenced), or rejoined / fenced. */
function diagnoseFormerPrimary(c: ServerCtx, obs: ServerObservation, writable: boolean) {
  const { state, now, opts, name, primary, primaryHistory, out } = c;
  const f = c.config.failover;
  const push = pushFor(c);
  const returned = `former primary is reachable again (read_only=${obs.readOnly ? 1 : 0})`;
  if (primaryHistory === null) {
    push("OldPrimaryReturned", `${returned}; waiting for the primary to compare`);
    if (writable) out.fences.push({ server: name, kill: true, why: "former primary is writable" });
    return;
  }
  const check = checkRejoin(obs, primaryHistory);
  if (!check.ok && check.diverged) {
    push("OldPrimaryDiverged", `${name} ${check.reason}: left read-only for a rebuild`, {
      extraGtids: check.extra,
    });
    out.diverged.push({
      server: name,
      extra: check.extra,
      reason: check.reason,
      situation: "OldPrimaryDiverged",
    });
    out.fences.push({ server: name, kill: true, why: "former primary diverged" });
    return;
  }
  const failedAt = state.rejoinFailures[name];
  const canRetry = failedAt === undefined || now - failedAt >= opts.rejoinRetryMs;
  // Paused: no rejoin starts, but a writable one is still fenced below (never two primaries).
  const paused = state.paused != null;
  const plan = !check.ok
    ? `cannot rejoin: ${check.reason}`
    : !f.autoRejoin
      ? "failover.autoRejoin is off: run the rejoin command"
      : paused
        ? "automation is paused: run the rejoin command, or resume"
        : !canRetry
          ? `rejoin failed ${now - (failedAt ?? now)} ms ago; retrying after ${opts.rejoinRetryMs} ms`
          : `rejoining to ${primary}`;
  push("OldPrimaryReturned", `${returned}; ${plan}`);
  if (check.ok && f.autoRejoin && !paused && canRetry && out.rejoin === null && primary !== null) {
    out.rejoin = {
      server: name,
      connection: "",
      useGtid: "slave_pos",
      wasPrimary: true,
      why: "former primary returned",
    };
  } else if (writable) {
    out.fences.push({ server: name, kill: true, why: "former primary is writable" });
  }
}

/** read_only off on a server that is not the primary (nor one being promoted, nor another stream's). */
function diagnoseWritable(c: ServerCtx, writable: boolean) {
  const { state, config, now, name, primary, out } = c;
  const op = state.operation;
  const promoting = op !== null && (op.servers.candidate === name || op.servers.target === name);
  if (
    !writable ||
    primary === null ||
    promoting ||
    otherStreamPrimary(state, config, name, now) !== null
  ) {
    return;
  }
  const enforce = config.failover.enforceReadOnly;
  pushFor(c)(
    "ReplicaWritable",
    `read_only is off on a server that is not the primary${enforce ? ": setting read_only=1" : " (failover.enforceReadOnly is off)"}`,
  );
  if (enforce) out.fences.push({ server: name, kill: false, why: "replica is writable" });
}
