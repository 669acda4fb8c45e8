// prune-backups once taken: the agent is asked what it would delete now (the reply carries it,
// and a dry-run stops there), then to delete, in the background, published on `op.<opId>` of
// the server's cluster (kind `prune`); what was deleted is a BackupsPruned event on the
// cluster's events subject too. The server is not touched (no maintenance): only its host's
// backup directory. The per-server lock (held until the run ends) and the agent's own
// registry keep it away from any backup or restore of the server.
import {
  BackupPruneResult,
  ClusterEventMessage,
  type CommandPayload,
  type ErrorBody,
  envelope,
  errorBody,
  mustParse,
  type OperationEvent,
  subjects,
} from "@marina/contracts";
import {
  backupsPrunedEvent,
  type PruneAction,
  pruneAcceptedReport,
  pruneSummary,
} from "@marina/decider-core";
import { dryReply } from "../provision/command.js";
import {
  callAgent,
  clusterConfig,
  type ProvisionDeps,
  publishOperation,
} from "../provision/context.js";
import { checkOnItsAgent, type Refusal } from "./intake.js";
import { agentLimitMs, REPLY_MARGIN_MS } from "./run.js";

/** What the agent answered to a prune, or its refusal. */
async function askAgent(
  d: ProvisionDeps,
  home: string,
  host: string,
  agentOpId: string,
  action: PruneAction,
  timeoutMs: number,
): Promise<{ ok: true; result: BackupPruneResult } | Refusal> {
  const r = await callAgent(d, home, host, agentOpId, action, timeoutMs);
  if (!r.ok) return { ok: false, error: r.error ?? errorBody("INTERNAL", "no answer") };
  const { action: _a, cluster: _c, ...data } = r.data;
  const parsed = BackupPruneResult.safeParse(data);
  if (!parsed.success) {
    return {
      ok: false,
      error: errorBody(
        "INTERNAL",
        `the agent's prune answer is not valid: ${parsed.error.message}`,
      ),
    };
  }
  return { ok: true, result: parsed.data };
}

export async function prune(
  d: ProvisionDeps,
  home: string,
  opId: string,
  p: CommandPayload<"prune-backups">,
  done: () => void,
) {
  const checked = await checkOnItsAgent(d, home, p.server, "prune-backups");
  if (!checked.ok) return checked;
  const action: PruneAction = {
    action: "prune-backups",
    server: p.server,
    keep: p.keep,
    ...(p.olderThanDays === undefined ? {} : { olderThanDays: p.olderThanDays }),
    dryRun: false,
  };
  const now = await askAgent(
    d,
    home,
    checked.host,
    `${opId}-dry`,
    { ...action, dryRun: true },
    60_000,
  );
  if (!now.ok) return now;
  const reason = p.reason ?? `prune the backups of ${p.server} to the newest ${p.keep}`;
  if (p.dryRun) {
    const report = pruneAcceptedReport(
      checked.host,
      action,
      now.result,
      reason,
      (c) => clusterConfig(d, c)!,
    );
    return {
      ok: true as const,
      reply: { ...dryReply(report, "prune-backups"), data: { ...now.result } },
    };
  }
  void runPrune(d, { opId, home, host: checked.host, action }).finally(done);
  return {
    ok: true as const,
    reply: {
      ok: true as const,
      verb: "prune-backups",
      opId,
      message: `pruning on ${checked.host}: ${pruneSummary(now.result, "now")}`.slice(0, 4096),
      data: { ...now.result },
    },
  };
}

interface PruneRun {
  opId: string;
  home: string;
  host: string;
  action: PruneAction;
}

async function runPrune(d: ProvisionDeps, run: PruneRun): Promise<void> {
  const startedAt = d.now();
  const timings: Record<string, number> = {};
  const server = run.action.server;
  const publish = (state: OperationEvent["state"], message: string, error: ErrorBody | null) =>
    publishOperation(d, {
      cluster: run.home,
      opId: run.opId,
      kind: "prune",
      state,
      phase: "prune",
      servers: { target: server },
      message,
      startedAt,
      error,
      timings,
    });
  publish("running", `deleting old backups of ${server} on ${run.host}`, null);
  const t0 = performance.now();
  const limit = agentLimitMs(d) + REPLY_MARGIN_MS;
  const r = await askAgent(d, run.home, run.host, `${run.opId}-p`, run.action, limit).catch(
    (err: Error) => ({ ok: false as const, error: errorBody("INTERNAL", err.message) }),
  );
  timings.prune = Math.round(performance.now() - t0);
  if (!r.ok) {
    publish(
      "failed",
      `prune of the backups of ${server} on ${run.host} failed: ${r.error.message}`,
      r.error,
    );
    return;
  }
  if (r.result.deleted.length > 0) {
    const epoch = d.cluster(run.home)?.epoch() ?? 0;
    const event = backupsPrunedEvent(run.home, epoch, run.opId, run.host, run.action, r.result);
    d.bus.publish(
      subjects.events(run.home),
      JSON.stringify(mustParse(ClusterEventMessage, envelope("event", d.source, event))),
    );
  }
  publish("succeeded", `${pruneSummary(r.result, "done")} on ${run.host}`, null);
}
