import type { MariaNode } from "./mariadb-node.js";
import { assertSafeName, num, type Row, str } from "./sql.js";
import { waitFor } from "./wait.js";

export interface ChangeMasterOptions {
  /** Named connection for multi-source ('' = the default connection). */
  readonly connectionName?: string;
  /** MASTER_USE_GTID mode. Default slave_pos. */
  readonly useGtid?: "slave_pos" | "current_pos";
  /** START SLAVE afterwards. Default true. */
  readonly start?: boolean;
}

function connectionLiteral(name: string | undefined): string {
  if (!name) return "";
  assertSafeName(name, "replication connection name");
  return ` '${name}'`;
}

/** Points `replica` at `source` with the lab's replication user and fast retry settings. */
export async function changeMaster(
  replica: MariaNode,
  source: MariaNode,
  opts: ChangeMasterOptions = {},
): Promise<void> {
  const conn = connectionLiteral(opts.connectionName);
  const { repl } = replica.credentials;
  // A TLS lab: replication over TLS, the source's certificate checked against the CA.
  const tls = replica.tls ? ", MASTER_SSL=1, MASTER_SSL_CA=?, MASTER_SSL_VERIFY_SERVER_CERT=1" : "";
  await replica.query(
    `CHANGE MASTER${conn} TO MASTER_HOST=?, MASTER_PORT=?, MASTER_USER=?, MASTER_PASSWORD=?, ` +
      `MASTER_USE_GTID=${opts.useGtid ?? "slave_pos"}, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1${tls}`,
    [
      source.replicationHost,
      source.replicationPort,
      repl.user,
      repl.password,
      ...(replica.tls ? [replica.tls.caFile] : []),
    ],
  );
  if (opts.start ?? true) await replica.query(`START SLAVE${conn}`);
}

export interface ReplicaConnectionStatus {
  readonly connectionName: string;
  readonly masterHost: string;
  readonly masterPort: number | null;
  readonly ioRunning: string;
  readonly sqlRunning: string;
  readonly lastIoErrno: number;
  readonly lastIoError: string;
  readonly lastSqlErrno: number;
  readonly lastSqlError: string;
  readonly gtidIoPos: string;
  readonly secondsBehindMaster: number | null;
}

/** One entry per replication connection (SHOW ALL SLAVES STATUS); [] on a primary. */
export async function replicaStatus(node: MariaNode): Promise<ReplicaConnectionStatus[]> {
  const rows = await node.query<Row[]>("SHOW ALL SLAVES STATUS");
  return rows.map((r) => ({
    connectionName: str(r, "Connection_name"),
    masterHost: str(r, "Master_Host"),
    masterPort: num(r, "Master_Port"),
    ioRunning: str(r, "Slave_IO_Running"),
    sqlRunning: str(r, "Slave_SQL_Running"),
    lastIoErrno: num(r, "Last_IO_Errno") ?? 0,
    lastIoError: str(r, "Last_IO_Error"),
    lastSqlErrno: num(r, "Last_SQL_Errno") ?? 0,
    lastSqlError: str(r, "Last_SQL_Error"),
    gtidIoPos: str(r, "Gtid_IO_Pos"),
    secondsBehindMaster: num(r, "Seconds_Behind_Master"),
  }));
}

export function describeReplicaStatus(name: string, s: readonly ReplicaConnectionStatus[]): string {
  if (s.length === 0) return `${name}: no replication connections`;
  return s
    .map(
      (c) =>
        `${name}[${c.connectionName || "default"}] from ${c.masterHost}:${c.masterPort} ` +
        `io=${c.ioRunning} sql=${c.sqlRunning}` +
        (c.lastIoErrno ? ` io_error=${c.lastIoErrno} ${c.lastIoError}` : "") +
        (c.lastSqlErrno ? ` sql_error=${c.lastSqlErrno} ${c.lastSqlError}` : ""),
    )
    .join("\n");
}

/** Waits until `count` connections (default: all that exist, at least one) have IO and SQL running. */
export async function waitForReplicating(
  node: MariaNode,
  opts: { timeoutMs?: number; count?: number } = {},
): Promise<ReplicaConnectionStatus[]> {
  return waitFor(
    async () => {
      const s = await replicaStatus(node);
      const running = s.filter((c) => c.ioRunning === "Yes" && c.sqlRunning === "Yes");
      const want = opts.count ?? Math.max(1, s.length);
      return running.length >= want && s.length >= want ? s : undefined;
    },
    {
      timeoutMs: opts.timeoutMs ?? 15_000,
      message: `${node.name} replicating`,
      describe: async () => describeReplicaStatus(node.name, await replicaStatus(node)),
    },
  );
}

export interface SemiSyncStatus {
  readonly masterEnabled: boolean;
  /** Rpl_semi_sync_master_status: ON while commits wait for an ack. */
  readonly masterStatus: boolean;
  readonly masterClients: number;
  readonly slaveEnabled: boolean;
  readonly slaveStatus: boolean;
}

export async function semiSyncStatus(node: MariaNode): Promise<SemiSyncStatus> {
  const vars = await node.query<Row[]>(
    "SELECT @@global.rpl_semi_sync_master_enabled AS m, @@global.rpl_semi_sync_slave_enabled AS s",
  );
  const status = await node.query<Row[]>("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'");
  const get = (name: string) =>
    str(
      status.find((r) => str(r, "Variable_name").toLowerCase() === name.toLowerCase()),
      "Value",
    );
  return {
    masterEnabled: num(vars[0], "m") === 1,
    slaveEnabled: num(vars[0], "s") === 1,
    masterStatus: get("Rpl_semi_sync_master_status") === "ON",
    masterClients: Number(get("Rpl_semi_sync_master_clients") || 0),
    slaveStatus: get("Rpl_semi_sync_slave_status") === "ON",
  };
}

/**
 * Switches the master side of semi-sync on at runtime and waits for `clients` acking
 * replicas. Do this on a primary only, after its replicas connected: enabled earlier,
 * commits stall for rpl_semi_sync_master_timeout; on a replica it stalls the SQL thread.
 */
export async function enableSemiSyncMaster(
  primary: MariaNode,
  clients: number,
  timeoutMs = 15_000,
): Promise<SemiSyncStatus> {
  await primary.query("SET GLOBAL rpl_semi_sync_master_enabled=1");
  return waitFor(
    async () => {
      const s = await semiSyncStatus(primary);
      return s.masterStatus && s.masterClients >= clients ? s : undefined;
    },
    {
      timeoutMs,
      message: `${primary.name}: semi-sync master ON with ${clients} clients`,
      describe: async () => JSON.stringify(await semiSyncStatus(primary)),
    },
  );
}
