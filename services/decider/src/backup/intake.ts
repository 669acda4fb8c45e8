// What backup, restore-backup and prune-backups check before they ask the agent: the server in
// its cluster with an agent host, leadership, and the cluster the agent files it under.
import {
  type BackupManifest,
  type ErrorBody,
  errorBody,
  BackupManifest as ManifestSchema,
} from "@marina/contracts";
import {
  callAgent,
  clusterConfig,
  leadershipRefusal,
  nextId,
  type ProvisionDeps,
} from "../provision/context.js";

export type Refusal = { ok: false; error: ErrorBody };
export const refuse = (
  code: Parameters<typeof errorBody>[0],
  message: string,
  path?: string,
): Refusal => ({
  ok: false,
  error: errorBody(code, message, path),
});

/** The clusters whose config lists `server` (the home one first). */
export function clustersListing(d: ProvisionDeps, home: string, server: string): string[] {
  const all = d.config.clusters
    .filter((c) => c.servers.some((s) => s.name === server))
    .map((c) => c.name);
  return [...new Set([home, ...all])].filter((c) => all.includes(c));
}

/** The server in the home cluster, with its agent host; leadership of `clusters`. */
export function checkServer(d: ProvisionDeps, home: string, server: string, lead: string[]) {
  const s = clusterConfig(d, home)?.servers.find((x) => x.name === server);
  if (!s) return refuse("UNKNOWN_SERVER", `${server} is not a server of cluster ${home}`, "server");
  if (!s.agentHost) {
    return refuse(
      "NOT_APPLICABLE",
      `${server} has no agentHost: backups are taken and restored by its host agent (docs/configuration.md)`,
      "server",
    );
  }
  const refusal = leadershipRefusal(d, lead, `needed for ${server}`);
  if (refusal) return { ok: false as const, error: refusal };
  return { ok: true as const, host: s.agentHost };
}

/** The server's manifests from its agent (one with `id`), and the cluster the agent files it under. */
export async function readManifests(
  d: ProvisionDeps,
  home: string,
  host: string,
  server: string,
  id?: string,
): Promise<{ ok: true; manifests: BackupManifest[]; agentCluster: string } | Refusal> {
  const r = await callAgent(
    d,
    home,
    host,
    nextId("backups"),
    { action: "list-backups", server, ...(id ? { id } : {}) },
    15_000,
  );
  if (!r.ok) return { ok: false, error: r.error ?? errorBody("INTERNAL", "no answer") };
  const list = Array.isArray(r.data.backups) ? r.data.backups : [];
  const manifests = list.flatMap((m) => {
    const p = ManifestSchema.safeParse(m);
    return p.success ? [p.data] : [];
  });
  return { ok: true, manifests, agentCluster: String(r.data.cluster ?? home) };
}

/** A command sent to a cluster other than the one the agent fences the server by. */
export function wrongCluster(server: string, agentCluster: string, home: string, verb: string) {
  return agentCluster === home
    ? null
    : refuse(
        "NOT_APPLICABLE",
        `${server}'s agent files it under cluster ${agentCluster}: send ${verb} to ${agentCluster} (marina -c ${agentCluster} ${verb} …)`,
        "server",
      );
}

/**
 * The checks a backup and a prune share: the server, its agent host, leadership of every
 * cluster listing it, and that the command came to the cluster its agent fences it by.
 */
export async function checkOnItsAgent(
  d: ProvisionDeps,
  home: string,
  server: string,
  verb: string,
): Promise<{ ok: true; host: string; clusters: string[] } | Refusal> {
  const clusters = clustersListing(d, home, server);
  const checked = checkServer(d, home, server, clusters);
  if (!checked.ok) return checked;
  // list-backups is not fenced: it says which cluster the agent files the server under.
  const read = await readManifests(d, home, checked.host, server);
  if (!read.ok) return read;
  return wrongCluster(server, read.agentCluster, home, verb) ?? { ...checked, clusters };
}
