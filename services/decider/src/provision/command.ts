// The provision-replica command as the decider service takes it (it spans clusters, so no
// single core runs it): checks, then a dry-run report or the start of the run.
import type { CommandReply } from "@marina/contracts";
import {
  addedSourceDomains,
  addSourceReport,
  provisionAcceptedReport,
  provisionedSlavePos,
  provisionRefusedReport,
  removeSourceReport,
  restartSourceReport,
  restrictToDomains,
  takenDomains,
} from "@marina/decider-core";
import { attachedDomains, checkSourceChange } from "./change-check.js";
import { runAddSource, runRemoveSource } from "./change-run.js";
import { checkProvisionRequest, type ProvisionPayload } from "./check.js";
import { besideBusy, clusterConfig, type ProvisionDeps } from "./context.js";
import { runProvision } from "./run.js";

const VERB = "provision-replica";
/** The maintenance reasons provision-replica's modes set (their own leftovers do not refuse it). */
const PROVISION_FAMILY = ["provision-replica", "add-source", "remove-source"];

export type ProvisionHandler = (home: string, payload: ProvisionPayload) => Promise<CommandReply>;

export function provisionHandler(d: ProvisionDeps): ProvisionHandler {
  let n = 0;
  return async (home, p) => {
    n += 1;
    const opId = `prov-${d.now().toString(36)}-${n.toString(36)}`;
    const busy = besideBusy(d, p.target, PROVISION_FAMILY);
    if (busy) {
      return p.dryRun
        ? dryReply(provisionRefusedReport(busy))
        : { ok: false, verb: VERB, error: busy };
    }
    if (p.dryRun) return handle(d, home, opId, p, () => {});
    // Held from here, before any await: a backup, a restore or another provision of the
    // target is refused at once; given back at the run's end, or now when none started.
    d.busy.set(p.target, VERB);
    let started = false;
    try {
      return await handle(d, home, opId, p, (run) => {
        started = true;
        void run().finally(() => d.busy.delete(p.target));
      });
    } finally {
      if (!started) d.busy.delete(p.target);
    }
  };
}

/** A request once `p.target` is reserved (or a dry run): `start` runs the operation. */
type Handle = (
  d: ProvisionDeps,
  home: string,
  opId: string,
  p: ProvisionPayload,
  start: (run: () => Promise<void>) => void,
) => Promise<CommandReply>;

const handle: Handle = async (d, home, opId, p, start) => {
  if (p.mode === "add" || p.mode === "remove" || p.mode === "restart") {
    return changeSource(d, home, opId, p, start);
  }
  const checked = await checkProvisionRequest(d, home, opId, p);
  if (!checked.ok) {
    if (p.dryRun) return dryReply(provisionRefusedReport(checked.error));
    return { ok: false, verb: VERB, error: checked.error };
  }
  const reason =
    p.reason ??
    `provision ${p.target} from ${checked.plan.sources.map((s) => s.cluster).join(", ")}`;
  if (p.dryRun) {
    // What the attach would set if every dump were taken now.
    const now = provisionedSlavePos(
      checked.sources.map((s) => ({
        cluster: s.cluster,
        domainId: s.facts?.gtidDomainId ?? 0,
        gtid: s.facts?.gtidBinlogPos ?? "",
      })),
    );
    const configOf = (c: string) => clusterConfig(d, c)!;
    const address = configOf(home).servers.find((s) => s.name === p.target)?.host ?? "";
    return dryReply(provisionAcceptedReport(checked.plan, now, reason, configOf, address));
  }
  start(() =>
    runProvision(d, {
      opId,
      plan: checked.plan,
      sources: checked.sources,
      reason,
      startedAt: d.now(),
    }),
  );
  return {
    ok: true,
    verb: VERB,
    opId,
    message: `provisioning of ${p.target} from ${checked.plan.sources.map((s) => `${s.primary} (${s.cluster})`).join(", ")} started`,
  };
};

/** mode add / remove: checks, then the dry-run report or the start of the run. */
const changeSource: Handle = async (d, home, opId, p, start) => {
  const checked = await checkSourceChange(d, home, opId, p);
  if (!checked.ok) {
    if (p.dryRun) return dryReply(provisionRefusedReport(checked.error));
    return { ok: false, verb: VERB, error: checked.error };
  }
  const configOf = (c: string) => clusterConfig(d, c)!;
  const common = { opId, clusters: checked.clusters, startedAt: d.now() };
  if (checked.mode === "restart") {
    const plan = { ...checked.plan, domains: [], drop: [] };
    const reason = p.reason ?? `restart source ${plan.cluster} on ${plan.target}`;
    if (p.dryRun) return dryReply(restartSourceReport(plan, reason, configOf));
    start(() => runRemoveSource(d, { ...common, plan, notes: [], reason, restart: true }));
    return {
      ok: true,
      verb: VERB,
      opId,
      message: `restart of '${plan.cluster}' on ${plan.target} started`,
    };
  }
  if (checked.mode === "remove") {
    const { plan } = checked;
    const reason = p.reason ?? `remove source ${plan.cluster} from ${plan.target}`;
    if (p.dryRun) return dryReply(removeSourceReport(plan, checked.notes, reason, configOf));
    start(() => runRemoveSource(d, { ...common, plan, notes: checked.notes, reason }));
    return {
      ok: true,
      verb: VERB,
      opId,
      message: `removal of source ${plan.cluster} from ${plan.target} started`,
    };
  }
  const { plan, source, attached, targetFacts } = checked;
  const s = plan.sources[0]!;
  const reason = p.reason ?? `add source ${s.cluster} to ${plan.target}`;
  if (p.dryRun) {
    const facts = source.facts!;
    const now = { cluster: s.cluster, domainId: facts.gtidDomainId, gtid: facts.gtidBinlogPos };
    const taken = takenDomains({ targetFacts, attached });
    const own = addedSourceDomains(attachedDomains(attached), taken, now);
    const address = configOf(home).servers.find((x) => x.name === plan.target)?.host ?? "";
    return dryReply(
      addSourceReport(plan, own, restrictToDomains(now.gtid, own), reason, configOf, address),
    );
  }
  start(() =>
    runAddSource(d, { ...common, plan, sources: [source], attached, targetFacts, reason }),
  );
  return {
    ok: true,
    verb: VERB,
    opId,
    message: `adding ${s.primary} (${s.cluster}) to ${plan.target} started`,
  };
};

/** A dry-run's answer: the report, and a message saying nothing was done. */
export function dryReply(
  report: ReturnType<typeof provisionRefusedReport>,
  verb: string = VERB,
): CommandReply {
  const what =
    report.outcome === "refused"
      ? `would be refused (${report.error?.code}): ${report.message}`
      : `would be accepted: ${report.message}`;
  const message = `dry run, nothing done: ${verb} ${what}`;
  return {
    ok: true,
    verb,
    message: message.length <= 4096 ? message : `${message.slice(0, 4095)}…`,
    dryRun: report,
  };
}
