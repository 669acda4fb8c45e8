import { formatGtidList, gtidContains, mergeGtidLists } from "./gtid.js";
import type { MariaNode } from "./mariadb-node.js";
import { describeReplicaStatus, replicaStatus } from "./replication.js";
import { type Row, str } from "./sql.js";
import { waitFor } from "./wait.js";

export interface GtidPositions {
  readonly binlogPos: string;
  readonly currentPos: string;
  readonly slavePos: string;
}

export async function gtidOf(node: MariaNode): Promise<GtidPositions> {
  const [row] = await node.query<Row[]>(
    "SELECT @@global.gtid_binlog_pos AS b, @@global.gtid_current_pos AS c, @@global.gtid_slave_pos AS s",
  );
  return { binlogPos: str(row, "b"), currentPos: str(row, "c"), slavePos: str(row, "s") };
}

export interface ConvergenceOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /**
   * The nodes whose gtid_binlog_pos everyone else must reach. Default: the given nodes
   * that have no replication connection (the primaries of every lab shape).
   */
  readonly sources?: readonly MariaNode[];
}

/**
 * Waits until every non-source node has applied everything the sources have binlogged:
 * for each domain of the sources' gtid_binlog_pos (merged), the node's gtid_slave_pos or
 * gtid_current_pos has at least that sequence number. Returns the target position.
 */
export async function waitForConvergence(
  nodes: readonly MariaNode[],
  opts: ConvergenceOptions = {},
): Promise<string> {
  let sources = opts.sources;
  if (!sources) {
    const roles = await Promise.all(nodes.map(async (n) => (await replicaStatus(n)).length === 0));
    sources = nodes.filter((_, i) => roles[i]);
  }
  const targets = nodes.filter((n) => !sources.includes(n));
  const reached = await waitFor(
    async () => {
      const src = await Promise.all(sources.map(gtidOf));
      const want = mergeGtidLists(...src.map((p) => p.binlogPos));
      const got = await Promise.all(targets.map(gtidOf));
      const ok = got.every(
        (g) => gtidContains(g.slavePos, want) || gtidContains(g.currentPos, want),
      );
      return ok ? { position: formatGtidList(want) } : undefined;
    },
    {
      timeoutMs: opts.timeoutMs ?? 20_000,
      intervalMs: opts.intervalMs ?? 50,
      message: `convergence of ${targets.map((n) => n.name).join(", ")} on ${sources.map((n) => n.name).join(", ")}`,
      describe: () => describePositions(nodes),
    },
  );
  return reached.position;
}

/** Every node's positions and replica threads, one block per node; for error messages. */
export async function describePositions(nodes: readonly MariaNode[]): Promise<string> {
  const parts = await Promise.all(
    nodes.map(async (n) => {
      try {
        const g = await gtidOf(n);
        const s = await replicaStatus(n);
        return `${n.name}: binlog=${g.binlogPos} current=${g.currentPos} slave=${g.slavePos}\n${describeReplicaStatus(n.name, s)}`;
      } catch (err) {
        return `${n.name}: unreachable (${err instanceof Error ? err.message : String(err)})`;
      }
    }),
  );
  return parts.join("\n");
}
