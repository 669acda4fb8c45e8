// provision-replica before anything changes: the request against the config and the
// leadership, then what the servers say (provision-facts through each cluster's
// executors), judged by decider-core's checkProvision.
import {
  type CommandPayload,
  type ErrorBody,
  errorBody,
  type ProvisionFacts,
  ProvisionFacts as ProvisionFactsSchema,
  promotionOf,
} from "@marina/contracts";
import {
  checkProvision,
  databasesOf,
  type ProvisionPlanInput,
  type ProvisionSource,
} from "@marina/decider-core";
import {
  callAgent,
  clusterConfig,
  leadershipRefusal,
  nextId,
  type ProvisionDeps,
} from "./context.js";

export type ProvisionPayload = CommandPayload<"provision-replica">;

export type Checked =
  | { ok: true; plan: ProvisionPlanInput; sources: ProvisionSource[]; targetFacts: ProvisionFacts }
  | { ok: false; error: ErrorBody };

export const refuse = (code: Parameters<typeof errorBody>[0], message: string, path?: string) =>
  ({ ok: false, error: errorBody(code, message, path) }) as const;

/** Config and leadership: what can be known without asking a server. */
export function checkRequest(d: ProvisionDeps, home: string, p: ProvisionPayload) {
  const homeConfig = clusterConfig(d, home);
  const target = homeConfig?.servers.find((s) => s.name === p.target);
  if (!homeConfig || !target) {
    return refuse("UNKNOWN_SERVER", `${p.target} is not a server of cluster ${home}`, "target");
  }
  if (!target.agentHost) {
    return refuse(
      "NOT_APPLICABLE",
      `${p.target} has no agentHost: the copy goes through its host agent (docs/configuration.md)`,
      "target",
    );
  }
  const clusters = [home, ...p.sources.map((s) => s.cluster)];
  for (const [i, s] of p.sources.entries()) {
    const c = clusterConfig(d, s.cluster);
    if (!c)
      return refuse("UNKNOWN_CLUSTER", `${s.cluster} is not configured`, `sources.${i}.cluster`);
    if (!c.servers.some((x) => x.name === p.target)) {
      return refuse(
        "NOT_APPLICABLE",
        `${p.target} is not listed in cluster ${s.cluster}: add it to that cluster's servers (a multi-source replica is a member of every source cluster; docs/operations.md, "Provisioning a multi-source replica")`,
        `sources.${i}.cluster`,
      );
    }
  }
  const refusal = leadershipRefusal(
    d,
    clusters,
    "provision-replica needs one decider leading the target's cluster and every source cluster",
  );
  if (refusal) return { ok: false as const, error: refusal };
  return { ok: true as const, targetHost: target.agentHost };
}

/** Read by the server's agent, with the account that dumps (it sees what a dump takes). */
export async function factsOf(
  d: ProvisionDeps,
  opId: string,
  cluster: string,
  server: string,
  databases?: string[],
): Promise<{ facts: ProvisionFacts; agentCluster: string | null } | null> {
  const host = clusterConfig(d, cluster)?.servers.find((s) => s.name === server)?.agentHost;
  if (!host) return null;
  const replicationUser = clusterConfig(d, cluster)?.replication.user ?? "";
  const r = await callAgent(
    d,
    cluster,
    host,
    nextId(`${opId}-f`),
    {
      action: "provision-facts",
      server,
      replicationUser,
      ...(databases ? { databases } : {}),
    },
    15_000,
  );
  if (!r.ok) {
    d.log.warn({ cluster, server, error: r.error }, "provision-facts failed");
    return null;
  }
  const { action: _a, server: _s, cluster: agentCluster, ...data } = r.data;
  const parsed = ProvisionFactsSchema.safeParse(data);
  if (!parsed.success) return null;
  return {
    facts: parsed.data,
    agentCluster: typeof agentCluster === "string" ? agentCluster : null,
  };
}

export async function checkProvisionRequest(
  d: ProvisionDeps,
  home: string,
  opId: string,
  p: ProvisionPayload,
): Promise<Checked> {
  const req = checkRequest(d, home, p);
  if (!req.ok) return req;
  const [targetRead, ...sourceFacts] = await Promise.all([
    factsOf(d, opId, home, p.target),
    ...p.sources.map((s) => {
      const primary = d.cluster(s.cluster)?.primary() ?? null;
      return primary ? factsOf(d, opId, s.cluster, primary, s.databases) : Promise.resolve(null);
    }),
  ]);
  const sources: ProvisionSource[] = p.sources.map((s, i) => ({
    cluster: s.cluster,
    primary: d.cluster(s.cluster)?.primary() ?? null,
    databases: s.databases ?? null,
    facts: sourceFacts[i]?.facts ?? null,
  }));
  // The target's agent fences its load by the cluster it files the server under: the
  // command must come to that cluster, whose epoch the calls carry.
  const agentCluster = targetRead?.agentCluster ?? null;
  if (agentCluster !== null && agentCluster !== home) {
    return refuse(
      "NOT_APPLICABLE",
      `${p.target}'s agent files it under cluster ${agentCluster}: send provision-replica to ${agentCluster} (marina -c ${agentCluster} provision-replica …)`,
      "target",
    );
  }
  const targetFacts = targetRead?.facts ?? null;
  const replicationUser = clusterConfig(d, home)?.replication.user ?? "";
  const promotableIn = [home, ...p.sources.map((s) => s.cluster)].filter((c) => {
    const server = clusterConfig(d, c)?.servers.find((x) => x.name === p.target);
    return server !== undefined && promotionOf(server) !== "never";
  });
  const problems = checkProvision({
    target: p.target,
    targetFacts,
    sources,
    overwrite: p.overwrite,
    replicationUser,
    homePrimary: d.cluster(home)?.primary() ?? null,
    promotableIn: [...new Set(promotableIn)],
  });
  if (problems.length > 0 || !targetFacts) {
    const text = problems.map((x) => `${x.message} [${x.path}]`).join("; ");
    return refuse(
      "PROVISION_CHECK_FAILED",
      `cannot provision ${p.target}: ${text}`.slice(0, 4096),
      problems[0]?.path,
    );
  }
  const plan: ProvisionPlanInput = {
    target: p.target,
    home,
    targetHost: req.targetHost,
    compression: p.compression,
    verifyTimeoutMs: 30_000,
    sources: sources.map((s, i) => {
      const primary = s.primary!;
      const server = clusterConfig(d, s.cluster)?.servers.find((x) => x.name === primary);
      return {
        cluster: s.cluster,
        primary,
        host: server?.agentHost ?? "",
        databases: databasesOf(s),
        filtered: p.sources[i]!.databases !== undefined,
      };
    }),
  };
  const noAgent = plan.sources.find((s) => s.host === "");
  if (noAgent) {
    return refuse(
      "NOT_APPLICABLE",
      `${noAgent.primary} (${noAgent.cluster}) has no agentHost: the dump is streamed by its host agent`,
    );
  }
  return { ok: true, plan, sources, targetFacts };
}
