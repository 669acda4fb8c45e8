import type { Lab } from "./lab.js";
import type { MariaNode } from "./mariadb-node.js";
import { num, type Row, str } from "./sql.js";

export interface ConnectionSnapshot {
  readonly name: string;
  readonly master: string;
  readonly io: string;
  readonly sql: string;
  readonly lag: number | null;
  readonly error: string;
}

export interface NodeSnapshot {
  readonly name: string;
  readonly port: number;
  /** False when the process is down, stopped or did not answer in time. */
  readonly reachable: boolean;
  readonly running: boolean;
  readonly readOnly?: boolean;
  readonly binlogPos?: string;
  readonly currentPos?: string;
  readonly slavePos?: string;
  readonly semiSyncMaster?: string;
  readonly connections?: readonly ConnectionSnapshot[];
  readonly error?: string;
}

/** One node's positions, on a fresh connection bounded by `timeoutMs` (a frozen node must not stall the view). */
export async function snapshotNode(node: MariaNode, timeoutMs = 800): Promise<NodeSnapshot> {
  const base = { name: node.name, port: node.port, running: node.isRunning() };
  if (!base.running) return { ...base, reachable: false };
  let conn: Awaited<ReturnType<MariaNode["connect"]>> | undefined;
  try {
    conn = await node.connect({ connectTimeoutMs: timeoutMs, socketTimeoutMs: timeoutMs });
    const [v] = (await conn.query(
      "SELECT @@global.gtid_binlog_pos AS b, @@global.gtid_current_pos AS c, " +
        "@@global.gtid_slave_pos AS s, @@global.read_only AS ro",
    )) as Row[];
    const [semi] = (await conn.query(
      "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'",
    )) as Row[];
    const slaves = (await conn.query("SHOW ALL SLAVES STATUS")) as Row[];
    return {
      ...base,
      reachable: true,
      readOnly: num(v, "ro") === 1,
      binlogPos: str(v, "b"),
      currentPos: str(v, "c"),
      slavePos: str(v, "s"),
      semiSyncMaster: str(semi, "Value"),
      connections: slaves.map((r) => ({
        name: str(r, "Connection_name"),
        master: `${str(r, "Master_Host")}:${str(r, "Master_Port")}`,
        io: str(r, "Slave_IO_Running"),
        sql: str(r, "Slave_SQL_Running"),
        lag: num(r, "Seconds_Behind_Master"),
        error: str(r, "Last_IO_Error") || str(r, "Last_SQL_Error"),
      })),
    };
  } catch (err) {
    return { ...base, reachable: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    conn?.destroy();
  }
}

/** A fixed-width text block, one line per node and one per replication connection. */
export function formatPositions(snaps: readonly NodeSnapshot[], at: Date = new Date()): string {
  const lines = [`GTID positions at ${at.toISOString()}`];
  for (const s of snaps) {
    if (!s.reachable) {
      const why = s.running ? `unreachable${s.error ? ` (${s.error})` : ""}` : "DOWN";
      lines.push(`  ${s.name.padEnd(5)} :${s.port}  ${why}`);
      continue;
    }
    const role = s.connections?.length ? "replica" : "primary";
    const ro = s.readOnly ? "ro" : "RW";
    const semi = s.semiSyncMaster === "ON" ? " semi-sync" : "";
    lines.push(
      `  ${s.name.padEnd(5)} :${s.port}  ${role.padEnd(7)} ${ro}${semi}  ` +
        `binlog=${s.binlogPos || "-"}  current=${s.currentPos || "-"}  slave=${s.slavePos || "-"}`,
    );
    for (const c of s.connections ?? []) {
      lines.push(
        `        ↳ ${c.name ? `'${c.name}' ` : ""}from ${c.master} io=${c.io} sql=${c.sql}` +
          (c.lag === null ? "" : ` lag=${c.lag}s`) +
          (c.error ? `  error: ${c.error}` : ""),
      );
    }
  }
  return lines.join("\n");
}

export interface PositionWatcher {
  /** Stops after the tick in flight. */
  stop(): Promise<void>;
}

/**
 * Prints every node's GTID positions every `intervalMs` (default 1 s) until stopped.
 * Ticks never overlap; a frozen or dead node shows as such instead of blocking.
 */
export function watchPositions(
  lab: Pick<Lab, "nodes">,
  print: (block: string) => void,
  opts: { intervalMs?: number; timeoutMs?: number } = {},
): PositionWatcher {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = async () => {
    const snaps = await Promise.all(lab.nodes.map((n) => snapshotNode(n, opts.timeoutMs)));
    if (!stopped) print(formatPositions(snaps));
  };
  const loop = () => {
    if (stopped) return;
    inFlight = tick().finally(() => {
      if (!stopped) timer = setTimeout(loop, opts.intervalMs ?? 1_000);
    });
  };
  loop();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight.catch(() => {});
    },
  };
}
