import type { ErrorBody } from "@marina/contracts/commands";
import type { ClusterConfig } from "@marina/contracts/config";
import type { DryRunPhase, DryRunReport } from "@marina/contracts/dry-run";
import { agentPrograms } from "../dry-run/agent-programs.js";
import { ASSUMED_PORT } from "../dry-run/assumed-results.js";
import { stepSql } from "../dry-run/step-sql.js";
import { describeStep } from "../steps.js";
import {
  addSourceAttach,
  type ProvisionPhase,
  type ProvisionPlanInput,
  provisionAttach,
  provisionCopy,
  provisionPrepare,
  type RemoveSourcePlanInput,
  removeSourceDetach,
  restartSourcePhase,
} from "./plan.js";

// The dry-run of provision-replica: the refusal, or every phase it would run. Only the
// first phase is known exactly; the copies assume the target's agent listens on an
// example port, and the attach assumes the positions the sources' binlogs show now.

export function dryPhase(
  ph: ProvisionPhase,
  known: boolean,
  dependsOn: string[],
  configOf: (cluster: string) => ClusterConfig,
): DryRunPhase {
  return {
    name: ph.name,
    known,
    dependsOn,
    message: ph.message,
    deadlineMs: null,
    steps: ph.steps.map((s) => ({
      key: s.key,
      server: s.server,
      step: s.step,
      description: `${describeStep(s.step)} (through ${s.cluster})`,
      after: [],
      bestEffort: false,
      promotes: false,
      sql: stepSql(s.step, configOf(s.cluster)),
    })),
    agentCalls: ph.calls.map((c) => ({
      key: c.key,
      host: c.host,
      server: c.server,
      action: c.action,
      description: `${c.action.action} of ${c.server} on ${c.host}`,
      programs: agentPrograms(c.action),
    })),
  };
}

export function provisionRefusedReport(error: ErrorBody, verb = "provision-replica"): DryRunReport {
  return {
    verb,
    outcome: "refused",
    error,
    message: error.message,
    operation: null,
    candidates: null,
    events: [],
    assumptions: [],
  };
}

/**
 * `slavePosNow`: the union the attach would set if the dumps were taken now;
 * `targetAddress`: where the target's agent is assumed to listen (its configured host).
 */
export function provisionAcceptedReport(
  p: ProvisionPlanInput,
  slavePosNow: string,
  reason: string,
  configOf: (cluster: string) => ClusterConfig,
  targetAddress: string,
): DryRunReport {
  const to = { address: targetAddress, port: ASSUMED_PORT };
  const phases = [
    dryPhase(provisionPrepare(p), true, [], configOf),
    ...p.sources.map((_s, i) =>
      dryPhase(
        provisionCopy(p, i, { address: to.address, port: to.port }),
        false,
        [`where ${p.targetHost} listens: picked at run time (${to.address}:${to.port} stands in)`],
        configOf,
      ),
    ),
    dryPhase(
      provisionAttach(p, slavePosNow),
      false,
      ["each dump's GTID position (assumed: each source's gtid_binlog_pos now)"],
      configOf,
    ),
  ];
  const message = `would provision ${p.target} from ${p.sources.map((s) => `${s.primary} (${s.cluster}: ${s.databases.join(", ")})`).join(" and ")}`;
  return changeReport(
    {
      target: p.target,
      ...Object.fromEntries(p.sources.map((s) => [`source-${s.cluster}`, s.primary])),
    },
    phases,
    message,
    reason,
    [
      "every source stays primary of its cluster until its copy ends",
      "writes on the sources go on; each copy is one consistent snapshot",
    ],
  );
}

/** The dry-run of mode add: the copy (example port) and the attach at the position now. */
export function addSourceReport(
  p: ProvisionPlanInput,
  domains: readonly number[],
  posNow: string,
  reason: string,
  configOf: (cluster: string) => ClusterConfig,
  targetAddress: string,
): DryRunReport {
  const s = p.sources[0]!;
  const message = `would add ${s.primary} (${s.cluster}: ${s.databases.join(", ")}) to ${p.target}, its other connections replicating on`;
  return changeReport(
    { target: p.target, [`source-${s.cluster}`]: s.primary },
    [
      dryPhase(
        provisionCopy(p, 0, { address: targetAddress, port: ASSUMED_PORT }),
        false,
        [
          `where ${p.targetHost} listens: picked at run time (${targetAddress}:${ASSUMED_PORT} stands in)`,
        ],
        configOf,
      ),
      dryPhase(
        addSourceAttach(p, domains, posNow),
        false,
        ["the dump's GTID position (assumed: the source's gtid_binlog_pos now)"],
        configOf,
      ),
    ],
    message,
    reason,
    [
      "the source stays primary of its cluster until its copy ends",
      "the other connections' SQL threads pause only around the SET GLOBAL gtid_slave_pos",
    ],
  );
}

/** The dry-run of mode remove: known exactly. */
export function removeSourceReport(
  p: RemoveSourcePlanInput,
  notes: string[],
  reason: string,
  configOf: (cluster: string) => ClusterConfig,
): DryRunReport {
  const message = `would remove '${p.cluster}' from ${p.target}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
  return changeReport(
    { target: p.target },
    [dryPhase(removeSourceDetach(p), true, [], configOf)],
    message,
    reason,
    ["the other connections are not touched"],
  );
}

/** The dry-run of mode restart: known exactly. */
export function restartSourceReport(
  p: Pick<RemoveSourcePlanInput, "target" | "cluster">,
  reason: string,
  configOf: (cluster: string) => ClusterConfig,
): DryRunReport {
  const message = `would restart '${p.cluster}' on ${p.target}`;
  return changeReport(
    { target: p.target },
    [dryPhase(restartSourcePhase(p, 30_000), true, [], configOf)],
    message,
    reason,
    ["the other connections are not touched"],
  );
}

function changeReport(
  servers: Record<string, string>,
  phases: DryRunPhase[],
  message: string,
  reason: string,
  assumptions: string[],
): DryRunReport {
  return acceptedBesideReport("provision-replica", "provision", {
    servers,
    phases,
    message,
    reason,
    assumptions,
  });
}

/**
 * An accepted dry-run of an operation run beside the cores (provisioning, backup, restore):
 * its phases, each assumed to succeed.
 */
export function acceptedBesideReport(
  verb: string,
  kind: "provision" | "backup" | "restore" | "prune",
  r: {
    servers: Record<string, string>;
    phases: DryRunPhase[];
    message: string;
    reason: string;
    assumptions: string[];
  },
): DryRunReport {
  return {
    verb,
    outcome: "accepted",
    error: null,
    message: r.message,
    operation: {
      kind,
      reason: r.reason,
      servers: r.servers,
      phases: r.phases,
      end: { state: "succeeded", message: r.message },
      stoppedAt: null,
    },
    candidates: null,
    events: [],
    assumptions: r.assumptions,
  };
}
