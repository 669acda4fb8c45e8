import type { ClusterConfig } from "@marina/contracts/config";
import { type DiagnoseCtx, type Diagnosis, finding } from "./diagnose/findings.js";
import { diagnosePrimary, diagnoseReadOnlyPrimary } from "./diagnose/primary.js";
import { diagnoseServer } from "./diagnose/servers.js";
import { diagnoseAcknowledgers, diagnoseDurability } from "./durability.js";
import { currentObservation, knownWritable } from "./knowledge.js";
import type { DeciderOptions } from "./options.js";
import { pausedReason } from "./pause.js";
import { historyOf } from "./plans/rejoin.js";
import { diagnoseAllDown } from "./policies/all-down.js";
import { CLUSTER } from "./situations.js";
import type { DeciderState } from "./state.js";
import { attachedServers } from "./topology.js";
import { otherStreamPrimary } from "./writable.js";

// Diagnosis: every server's situations from the current knowledge, plus what the leader
// should do about them (start a failover or a rejoin, fence a writable server). Pure: the
// caller applies the intents. The parts: diagnose/primary.ts (the primary),
// diagnose/servers.ts and diagnose/replicas.ts (everyone else).

export function diagnose(
  state: DeciderState,
  config: ClusterConfig,
  now: number,
  opts: DeciderOptions,
  learn: { reason: string; waiting: boolean } | null,
): Diagnosis {
  const out: Diagnosis = {
    findings: [],
    assessment: null,
    failover: null,
    blocked: null,
    rejoin: null,
    fences: [],
    restoreWrites: null,
    enforceStrict: null,
    semiSyncOff: [],
    diverged: [],
    undiverged: [],
    errantSeen: {},
    carry: [],
  };
  const primary = state.primary;
  const primaryObs = primary !== null ? currentObservation(state, config, primary, now) : null;
  const c: DiagnoseCtx = {
    state,
    config,
    now,
    opts,
    busy: state.operation !== null,
    primary,
    primaryObs,
    primaryHistory: primaryObs ? historyOf(primaryObs) : null,
    out,
  };
  diagnoseCluster(c, learn);
  diagnoseAllDown(c);
  if (primary !== null) diagnosePrimary(c, primary, learn?.reason ?? null);
  diagnoseReadOnlyPrimary(c);
  diagnoseDurability(c);
  diagnoseAcknowledgers(c);
  const attached = new Set(attachedServers(state, config, now));
  for (const s of config.servers) {
    if (s.name !== primary) diagnoseServer({ ...c, name: s.name, attached });
  }
  if (c.busy) {
    out.failover = null;
    out.rejoin = null;
    out.restoreWrites = null;
    out.enforceStrict = null;
    // A writable server the operation does not touch is still fenced, and a never-promoted
    // replica it does not touch still taken off semi-sync; the ones it works on change
    // read_only and semi-sync on purpose.
    const involved = new Set(state.operation?.steps.map((x) => x.server));
    out.fences = out.fences.filter((x) => !involved.has(x.server));
    out.semiSyncOff = out.semiSyncOff.filter((x) => !involved.has(x));
  }
  return out;
}

/** Cluster-wide: no primary known, more than one reachable writable server. */
function diagnoseCluster(c: DiagnoseCtx, learn: { reason: string; waiting: boolean } | null) {
  const { state, config, now, out } = c;
  if (c.primary === null && !learn?.waiting) {
    out.findings.push(
      finding(CLUSTER, "NoPrimaryKnown", learn?.reason ?? "no primary learned yet"),
    );
  }
  const writable = config.servers
    .map((s) => s.name)
    .filter(
      (n) =>
        currentObservation(state, config, n, now) !== null &&
        knownWritable(state, n) &&
        otherStreamPrimary(state, config, n, now) === null,
    );
  if (state.paused) {
    const p = state.paused;
    out.findings.push(
      finding(CLUSTER, "Paused", pausedReason(p), {
        details: { reason: p.reason, requestedBy: p.by, since: p.since },
      }),
    );
  }
  if (writable.length > 1) {
    out.findings.push(
      finding(
        CLUSTER,
        "SplitBrainRisk",
        `${writable.length} reachable writable servers: ${writable.join(", ")}`,
        { details: { servers: writable.join(",") } },
      ),
    );
  }
}
