// The decider's answer to `cmd.status` (decider-core's statusCommand), as far as the
// benchmarks read it; undefined when nobody answered in time.
import { subjects } from "@marina/contracts";
import type { NatsConnection } from "@nats-io/transport-node";

export interface ClusterStatus {
  /** The decider that answered (the leader; a follower forwards). */
  decider?: string;
  primary?: string | null;
  writer?: { server: string } | null;
  operation?: unknown;
}

export async function clusterStatus(
  nc: NatsConnection,
  cluster: string,
  timeoutMs = 3_000,
): Promise<ClusterStatus | undefined> {
  try {
    const m = await nc.request(subjects.cmd(cluster, "status"), "{}", { timeout: timeoutMs });
    return (JSON.parse(m.string()) as { payload?: { data?: ClusterStatus } }).payload?.data;
  } catch {
    return undefined;
  }
}
