import { type ClusterConfig, replicationAddressOf } from "@marina/contracts/config";
import type { ExecStep, ExecStepKind } from "@marina/contracts/executor";
import {
  changeMaster,
  masterGtidWait,
  resetSlaveAll,
  SELECT_BINLOG_POS,
  SEMI_SYNC_STRICT,
  SHOW_ALL_SLAVES,
  type Statement,
  setGtidSlavePos,
  setSemiSync,
  startSlave,
  startSlaveUntil,
  stopSlave,
} from "@marina/contracts/replication-sql";

// The SQL each executor step kind runs (services/executor/src/steps/<kind>.ts), for a
// dry-run. The replication statements are built by the executor's own builders
// (@marina/contracts/replication-sql); the fence's are the fence kernel's
// (@marina/mariadb fence/), quoted here. Every step reads the server first and runs only
// what is not already so: these are the statements of a server that needs all of it.

/** A statement as text, its `?` parameters filled in as quoted literals. */
export function statementText(s: Statement, hide: ReadonlySet<unknown> = new Set()): string {
  const params = [...(s.params ?? [])];
  return s.sql.replace(/\?/g, () => {
    const p = params.shift();
    if (hide.has(p)) return "'<replication password>'";
    return typeof p === "number" ? String(p) : `'${String(p)}'`;
  });
}

const READ_ONLY_ON = "SET GLOBAL read_only = ON";

function killText(which: "all" | "unprivileged"): string {
  return `KILL CONNECTION <id> for every ${which === "all" ? "" : "unprivileged "}client session (rounds while read_only waits for the commits in flight)`;
}

type SqlOf<K extends ExecStepKind> = (
  step: Extract<ExecStep, { kind: K }>,
  config: ClusterConfig,
) => string[];

/** One entry per step kind; the mapped type makes a missing kind a compile error. */
const sqlOf: { readonly [K in ExecStepKind]: SqlOf<K> } = {
  inspect: () => [
    "SELECT @@read_only, @@log_bin, @@gtid_binlog_pos, @@gtid_current_pos, @@gtid_slave_pos, … (the monitor's probe, one statement at a time)",
    SHOW_ALL_SLAVES,
  ],
  "save-binlogs": () => [
    "SELECT @@server_id",
    "SHOW BINARY LOGS",
    "SELECT BINLOG_GTID_POS(<file>, 4) for each file",
    "then, on the executor's host: mariadb-binlog --read-from-remote-server --raw --to-last-log <first file>, and decoding into SQL text",
  ],
  flashback: (s) => [
    "SELECT @@GLOBAL.gtid_binlog_state, @@GLOBAL.read_only; SHOW ALL SLAVES STATUS (refused unless read-only, not replicating and still holding the extra transactions)",
    "SHOW BINARY LOGS; SELECT BINLOG_GTID_POS(<file>, 4) for each file",
    `then, on the executor's host: mariadb-binlog --read-from-remote-server --raw --to-last-log <first file> into a new folder; mariadb-binlog --verbose --start-position=<fork> --do-domain-ids --do-server-ids (each transaction after ${s.forkPoint || "the first file's start"} up to ${s.extraGtids} judged); mariadb-binlog --flashback (the same selection) > flashback.sql`,
    "SELECT COUNT(*) FROM information_schema.COLUMNS for each table touched (full row images)",
    "mariadb --init-command='SET SESSION sql_log_bin=0' < flashback.sql",
    "RESET MASTER",
    `SET GLOBAL gtid_binlog_state = '<gtid_binlog_state without the extra transactions ${s.extraGtids}>'`,
  ],
  "compare-tables": (s) => [
    stopSlave(s.connection).sql,
    `on ${s.source}: START TRANSACTION WITH CONSISTENT SNAPSHOT; SHOW SESSION STATUS LIKE 'binlog_snapshot_%'; SELECT BINLOG_GTID_POS(<file>, <pos>); CHECKSUM TABLE for each table; COMMIT`,
    "START SLAVE '<c>' UNTIL master_gtid_pos = '<the snapshot's position>'; SELECT MASTER_GTID_WAIT(…)",
    `CHECKSUM TABLE ${s.tables.map((t) => `\`${t.schema}\`.\`${t.table}\``).join(", ")}`,
    `${stopSlave(s.connection).sql}; ${startSlave(s.connection).sql} (only when every table is equal)`,
  ],
  "set-read-only": (s) => [`SET GLOBAL read_only = ${s.readOnly ? "ON" : "OFF"}`],
  fence: (s) => [
    READ_ONLY_ON,
    ...(s.kill === "none" ? [] : [killText(s.kill)]),
    ...(s.semiSync === "keep" ? [] : [`${setSemiSync("master", false).sql} (if it was ON)`]),
  ],
  "kill-clients": (s) => [killText(s.includePrivileged ? "all" : "unprivileged")],
  "stop-replication": (s) => [stopSlave(s.connection).sql],
  "reset-replication": (s) => [stopSlave(s.connection).sql, resetSlaveAll(s.connection).sql],
  "change-master": (s, config) => {
    const source = config.servers.find((x) => x.name === s.source);
    const sslCa = config.tls ? (config.tls.replicationCa ?? config.tls.ca) : undefined;
    // The decider never resolves the secret; a marker stands in for it and is never shown.
    const password = "\u0000password";
    const address = source ? replicationAddressOf(source) : { host: s.source, port: 3306 };
    const stmt = changeMaster(s.connection, {
      host: address.host,
      port: address.port,
      user: config.replication.user,
      password,
      useGtid: s.useGtid,
      ...(sslCa !== undefined ? { sslCa } : {}),
    });
    return [stopSlave(s.connection).sql, statementText(stmt, new Set([password]))];
  },
  "start-replication": (s) => [
    statementText(
      s.untilGtid !== undefined
        ? startSlaveUntil(s.connection, s.untilGtid)
        : startSlave(s.connection),
    ),
  ],
  "set-gtid-slave-pos": (s) => [
    "STOP SLAVE '<c>' for every running connection",
    statementText(setGtidSlavePos(s.pos)),
  ],
  "wait-gtid": (s) => [statementText(masterGtidWait(s.pos, s.timeoutMs))],
  "drain-relay-log": (s) => [
    SHOW_ALL_SLAVES,
    `SELECT MASTER_GTID_WAIT('<Gtid_IO_Pos of '${s.connection}' not yet applied>', ${s.timeoutMs / 1000}) AS result`,
  ],
  "set-semi-sync": (s) => [
    ...(s.strict ? SEMI_SYNC_STRICT.map((x) => x.sql) : []),
    ...(s.master !== undefined ? [setSemiSync("master", s.master).sql] : []),
    ...(s.slave !== undefined
      ? [
          setSemiSync("slave", s.slave).sql,
          "STOP SLAVE '<c>' IO_THREAD; START SLAVE '<c>' IO_THREAD for every connection whose IO thread runs",
        ]
      : []),
  ],
  "wait-binlog-stable": (s) => [
    `${SELECT_BINLOG_POS} (until unchanged for ${s.stableMs} ms, at most ${s.timeoutMs} ms)`,
  ],
  "verify-replicating": (s) => [
    `${SHOW_ALL_SLAVES} (until '${s.connection}' runs both threads, at most ${s.timeoutMs} ms)`,
  ],
  "set-replication-filter": (s) => [
    stopSlave(s.connection).sql,
    `SET SESSION default_master_connection = '${s.connection}'`,
    `SET GLOBAL replicate_wild_do_table = '${s.databases.map((d) => `${d.replaceAll("_", "\\_")}.%`).join(",")}'`,
  ],
  "replace-gtid-domains": (s) => [
    "STOP SLAVE '<c>' SQL_THREAD (each connection whose SQL thread runs)",
    `SELECT @@gtid_slave_pos; SET GLOBAL gtid_slave_pos = <it without domains ${s.domains.join(", ")}> + '${s.pos}'`,
    "START SLAVE '<c>' SQL_THREAD (each one stopped)",
  ],
  "drop-databases": (s) => [
    "SET SESSION sql_log_bin = 0",
    ...s.databases.map((d) => `DROP DATABASE IF EXISTS \`${d}\``),
  ],
  // Not SQL: what the executor runs instead (it opens no connection for these).
  "run-hook": (s, config) => [
    `(no SQL) run ${JSON.stringify(config.hooks[s.hook]?.argv ?? [])} on an executor, no shell, killed at ${s.timeoutMs} ms; MARINA_* variables: ${s.context.operation} of ${s.context.oldPrimary} to ${s.context.newPrimary ?? "none"}`,
  ],
  "ask-veto": (s, config) => [
    `(no SQL) NATS request on marina.v1.${config.name}.veto.${s.operation}, every reply for ${s.timeoutMs} ms; one with veto: true blocks${s.required ? ", and so does no reply" : ""}`,
  ],
};

/** The statements `step` runs on a server that needs all of it. */
export function stepSql(step: ExecStep, config: ClusterConfig): string[] {
  const f = sqlOf[step.kind] as SqlOf<ExecStepKind>;
  return f(step as never, config);
}
