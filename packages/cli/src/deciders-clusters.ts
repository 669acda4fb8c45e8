// The clusters the live deciders are configured with, as their presence records in KV
// `marina_deciders` say (`clusters`): what `marina pause --all` / `resume --all` address.
// Records expire with the lease TTL, so only deciders running now count; a record this CLI
// cannot read (not JSON, a deleted key) is skipped.
import { BUCKETS, ClusterName } from "@marina/contracts";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { CliError } from "./exit-codes.js";

const Presence = z.looseObject({ clusters: z.array(z.string()) });

/** Cluster names out of presence record bodies, sorted, once each (pure). */
export function clustersOfPresence(bodies: readonly string[]): string[] {
  const out = new Set<string>();
  for (const body of bodies) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      continue;
    }
    const r = Presence.safeParse(json);
    if (!r.success) continue;
    for (const c of r.data.clusters) if (ClusterName.safeParse(c).success) out.add(c);
  }
  return [...out].sort();
}

export async function configuredClusters(nc: NatsConnection): Promise<string[]> {
  const stream = `KV_${BUCKETS.deciders}`;
  const bodies: string[] = [];
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream, { subjects_filter: ">" });
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
      if (m) bodies.push(m.string());
    }
  } catch (err) {
    throw new CliError(
      "NO_DECIDER",
      `cannot read the deciders' presence (KV ${BUCKETS.deciders}): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const clusters = clustersOfPresence(bodies);
  if (clusters.length === 0) {
    throw new CliError(
      "NO_DECIDER",
      `no live decider names its clusters in KV ${BUCKETS.deciders}`,
    );
  }
  return clusters;
}
