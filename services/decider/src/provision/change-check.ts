// provision-replica mode add / remove before anything changes: the request, then what the
// target, the source's primary and the primaries of the sources already attached say,
// judged by decider-core's checkAddSource / checkRemoveSource.
import { type ErrorBody, type ProvisionFacts, promotionOf } from "@marina/contracts";
import {
  checkAddSource,
  checkRemoveSource,
  connectionFor,
  databasesOf,
  type ProvisionPlanInput,
  type ProvisionProblem,
  type ProvisionSource,
  type RemoveSourcePlanInput,
} from "@marina/decider-core";
import { checkRequest, factsOf, type ProvisionPayload, refuse } from "./check.js";
import { clusterConfig, type ProvisionDeps } from "./context.js";

export type CheckedChange =
  | {
      ok: true;
      mode: "add";
      plan: ProvisionPlanInput;
      source: ProvisionSource;
      attached: ProvisionSource[];
      /** What the target said at the check (its gtid_slave_pos, which SQL threads ran). */
      targetFacts: ProvisionFacts;
      clusters: string[];
    }
  | {
      ok: true;
      mode: "remove";
      plan: RemoveSourcePlanInput;
      notes: string[];
      clusters: string[];
    }
  | {
      ok: true;
      mode: "restart";
      plan: Pick<RemoveSourcePlanInput, "target" | "home" | "targetHost" | "cluster">;
      clusters: string[];
    }
  | { ok: false; error: ErrorBody };

/** The gtid_domain_ids the attached sources write (those read). */
export function attachedDomains(attached: readonly ProvisionSource[]): number[] {
  return attached.flatMap((a) => (a.facts ? [a.facts.gtidDomainId] : []));
}

const primaryOf = (d: ProvisionDeps, cluster: string) => d.cluster(cluster)?.primary() ?? null;

async function sourceOf(
  d: ProvisionDeps,
  opId: string,
  cluster: string,
  databases: string[] | undefined,
): Promise<ProvisionSource> {
  const primary = primaryOf(d, cluster);
  const read = primary ? await factsOf(d, opId, cluster, primary, databases) : null;
  return { cluster, primary, databases: databases ?? null, facts: read?.facts ?? null };
}

function problemsRefusal(verb: string, target: string, problems: ProvisionProblem[]) {
  const text = problems.map((x) => `${x.message} [${x.path}]`).join("; ");
  return refuse(
    "PROVISION_CHECK_FAILED",
    `cannot ${verb} on ${target}: ${text}`.slice(0, 4096),
    problems[0]?.path,
  );
}

export async function checkSourceChange(
  d: ProvisionDeps,
  home: string,
  opId: string,
  p: ProvisionPayload,
): Promise<CheckedChange> {
  const verb = `${p.mode} a source`;
  if (p.sources.length !== 1) {
    return refuse(
      "VALIDATION_FAILED",
      `mode ${p.mode} takes exactly one source (got ${p.sources.length}): add or remove one at a time`,
      "sources",
    );
  }
  if (p.mode === "add" && p.overwrite) {
    return refuse("VALIDATION_FAILED", "mode add never overwrites: drop overwrite", "overwrite");
  }
  const req = checkRequest(d, home, p);
  if (!req.ok) return req;
  const asked = p.sources[0]!;
  const [targetRead, source] = await Promise.all([
    factsOf(d, opId, home, p.target),
    sourceOf(d, opId, asked.cluster, asked.databases),
  ]);
  const agentCluster = targetRead?.agentCluster ?? null;
  if (agentCluster !== null && agentCluster !== home) {
    return refuse(
      "NOT_APPLICABLE",
      `${p.target}'s agent files it under cluster ${agentCluster}: send provision-replica to ${agentCluster}`,
      "target",
    );
  }
  const targetFacts: ProvisionFacts | null = targetRead?.facts ?? null;
  // The sources attached now: the target's connections named after a configured cluster.
  const attachedNames = (targetFacts?.connections ?? [])
    .map((c) => c.name)
    .filter((n) => n !== connectionFor(asked.cluster) && clusterConfig(d, n) !== undefined);
  const attached = await Promise.all(attachedNames.map((c) => sourceOf(d, opId, c, undefined)));
  const clusters = [...new Set([home, asked.cluster, ...attachedNames])];
  const input = {
    target: p.target,
    targetFacts,
    source,
    attached,
    replicationUser: clusterConfig(d, home)?.replication.user ?? "",
    homePrimary: primaryOf(d, home),
    promotableIn: [
      ...new Set(
        [home, asked.cluster].filter((c) => {
          const server = clusterConfig(d, c)?.servers.find((x) => x.name === p.target);
          return server !== undefined && promotionOf(server) !== "never";
        }),
      ),
    ],
  };
  if (p.mode === "restart") {
    // The connection must be there (remove's checks without dropDatabases).
    const r = checkRemoveSource(input, false);
    if (r.problems.length > 0) return problemsRefusal(verb, p.target, r.problems);
    return {
      ok: true,
      mode: "restart",
      clusters,
      plan: { target: p.target, home, targetHost: req.targetHost, cluster: asked.cluster },
    };
  }
  if (p.mode === "remove") {
    const r = checkRemoveSource(input, p.dropDatabases);
    if (r.problems.length > 0) return problemsRefusal(verb, p.target, r.problems);
    return {
      ok: true,
      mode: "remove",
      notes: r.notes,
      clusters,
      plan: {
        target: p.target,
        home,
        targetHost: req.targetHost,
        cluster: asked.cluster,
        domains: r.domains,
        drop: r.drop,
      },
    };
  }
  const problems = checkAddSource(input);
  if (problems.length > 0) return problemsRefusal(verb, p.target, problems);
  const primary = source.primary!;
  const host = clusterConfig(d, asked.cluster)?.servers.find((x) => x.name === primary)?.agentHost;
  if (!host) {
    return refuse(
      "NOT_APPLICABLE",
      `${primary} (${asked.cluster}) has no agentHost: the dump is streamed by its host agent`,
    );
  }
  return {
    ok: true,
    mode: "add",
    source,
    attached,
    targetFacts: targetFacts!,
    clusters,
    plan: {
      target: p.target,
      home,
      targetHost: req.targetHost,
      compression: p.compression,
      verifyTimeoutMs: 30_000,
      addSource: true,
      sources: [
        {
          cluster: asked.cluster,
          primary,
          host,
          databases: databasesOf(source),
          filtered: asked.databases !== undefined,
        },
      ],
    },
  };
}
