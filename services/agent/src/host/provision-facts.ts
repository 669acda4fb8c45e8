import { type ProvisionFacts, ProvisionFacts as ProvisionFactsSchema } from "@marina/contracts";
import { type LocalAccount, withConnection } from "./local-sql.js";

const SYSTEM = ["mysql", "information_schema", "performance_schema", "sys"];

type Row = Record<string, unknown>;

const yes = (v: unknown) => v === 1 || v === "1" || v === "ON" || v === true || v === 1n;

/**
 * What provisioning a multi-source replica checks, read from the server (changes nothing)
 * with the agent's backup account — the account that dumps, so it sees every database and
 * table the dump would take: binlog, ids, the user databases, the non-InnoDB tables of the
 * databases asked for (all user databases when none are), the replication account, the
 * replication connections.
 */
export function readProvisionFacts(
  a: LocalAccount,
  databases: readonly string[] | undefined,
  replicationUser: string,
): Promise<ProvisionFacts> {
  return withConnection(a, async (c) => {
    const q = async (sql: string, params?: unknown[]) => (await c.query(sql, params)) as Row[];
    const [v] = await q(
      "SELECT @@log_bin AS log_bin, @@binlog_format AS binlog_format, @@server_id AS server_id, @@gtid_domain_id AS domain_id, @@gtid_binlog_pos AS binlog_pos, @@gtid_slave_pos AS slave_pos, @@lower_case_table_names AS lctn, @@read_only AS read_only",
    );
    const schemas = (await q("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA"))
      .map((r) => String(r.s))
      .filter((s) => !SYSTEM.includes(s))
      .sort();
    const asked = databases ?? schemas;
    const nonInnodb =
      asked.length === 0
        ? []
        : (
            await q(
              `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, ENGINE AS e FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND ENGINE IS NOT NULL AND ENGINE <> 'InnoDB' AND TABLE_SCHEMA IN (${asked.map(() => "?").join(",")}) ORDER BY 1, 2`,
              [...asked],
            )
          ).map((r) => ({ table: `${String(r.s)}.${String(r.t)}`, engine: String(r.e) }));
    // Reading mysql.user needs a grant the account need not have: unknown then.
    const acct = await q("SELECT COUNT(*) AS n FROM mysql.user WHERE User = ?", [
      replicationUser,
    ]).then(
      (r) => r[0] ?? null,
      () => null,
    );
    const connections = (await q("SHOW ALL SLAVES STATUS")).map((r) => ({
      name: String(r.Connection_name ?? ""),
      running: r.Slave_IO_Running === "Yes" || r.Slave_SQL_Running === "Yes",
      sqlRunning: r.Slave_SQL_Running === "Yes",
      wildDoTable: String(r.Replicate_Wild_Do_Table ?? ""),
    }));
    const facts: ProvisionFacts = {
      logBin: yes(v?.log_bin),
      binlogFormat: String(v?.binlog_format ?? ""),
      serverId: Number(v?.server_id ?? 0),
      gtidDomainId: Number(v?.domain_id ?? 0),
      gtidBinlogPos: String(v?.binlog_pos ?? ""),
      gtidSlavePos: String(v?.slave_pos ?? ""),
      lowerCaseTableNames: Number(v?.lctn ?? 0),
      readOnly: yes(v?.read_only),
      databases: schemas,
      nonInnodb,
      replicationAccount: acct ? Number(acct.n) > 0 : null,
      connections,
    };
    return ProvisionFactsSchema.parse(facts);
  });
}
