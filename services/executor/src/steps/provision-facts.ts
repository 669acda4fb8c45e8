import { type ProvisionFacts, ProvisionFacts as ProvisionFactsSchema } from "@marina/contracts";
import { flag, int, text } from "../rows.js";
import { anyThreadRunning } from "../status.js";
import { readConnections, type StepRunner } from "./context.js";

const SYSTEM = ["mysql", "information_schema", "performance_schema", "sys"];

/**
 * What provisioning a multi-source replica checks, read from the server (changes nothing):
 * binlog, ids, the user databases, the non-InnoDB tables of the databases asked for (all
 * user databases when none are), the replication account, the replication connections.
 */
export const provisionFacts: StepRunner<"provision-facts"> = async (ctx, step) => {
  const [v] = await ctx.db.rows(
    "SELECT @@log_bin AS log_bin, @@server_id AS server_id, @@gtid_domain_id AS domain_id, @@gtid_binlog_pos AS binlog_pos, @@read_only AS read_only",
  );
  const schemas = (await ctx.db.rows("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA"))
    .map((r) => text(r, "s"))
    .filter((s) => !SYSTEM.includes(s))
    .sort();
  const asked = step.databases ?? schemas;
  const nonInnodb =
    asked.length === 0
      ? []
      : (
          await ctx.db.rows(
            `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, ENGINE AS e FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND ENGINE IS NOT NULL AND ENGINE <> 'InnoDB' AND TABLE_SCHEMA IN (${asked.map(() => "?").join(",")}) ORDER BY 1, 2`,
            asked,
          )
        ).map((r) => ({ table: `${text(r, "s")}.${text(r, "t")}`, engine: text(r, "e") }));
  const [acct] = await ctx.db.rows("SELECT COUNT(*) AS n FROM mysql.user WHERE User = ?", [
    ctx.cluster.replication.user,
  ]);
  const connections = (await readConnections(ctx.db)).map((c) => ({
    name: c.connection,
    running: anyThreadRunning(c),
  }));
  const facts: ProvisionFacts = {
    logBin: v ? flag(v, "log_bin") : false,
    serverId: v ? int(v, "server_id") : 0,
    gtidDomainId: v ? int(v, "domain_id") : 0,
    gtidBinlogPos: v ? text(v, "binlog_pos") : "",
    readOnly: v ? flag(v, "read_only") : false,
    databases: schemas,
    nonInnodb,
    replicationAccount: acct ? int(acct, "n") > 0 : false,
    connections,
  };
  return ProvisionFactsSchema.parse(facts);
};
