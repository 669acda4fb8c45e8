// What the flashback tests share: the executors' grants for a flashback, a table's checksum.
import type { Lab, MariaNode } from "@marina/lab";

/**
 * docs/security.md: where saveBinlogs is set, the executors' account dumps the binlogs
 * (REPLICATION SLAVE, BINLOG MONITOR); a flashback also applies the reverse (BINLOG REPLAY,
 * and BINLOG ADMIN for sql_log_bin=0 and gtid_binlog_state) and compares tables (SELECT).
 */
export async function grantFlashback(lab: Lab): Promise<void> {
  for (const n of lab.nodes) {
    await n.query("SET SESSION sql_log_bin=0");
    await n.query(
      `GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR, BINLOG REPLAY, BINLOG ADMIN ON *.* TO '${lab.credentials.marina.user}'@'%'`,
    );
    await n.query("SET SESSION sql_log_bin=1");
  }
}

/** CHECKSUM TABLE of `table` (`db.name`). */
export async function checksum(node: MariaNode, table: string): Promise<string> {
  const [r] = await node.query<Array<{ Checksum: unknown }>>(`CHECKSUM TABLE ${table}`);
  return String(r?.Checksum);
}
