import type { AgentAction } from "@marina/contracts/agent";

// What a host agent runs for each action (services/agent/src/ops/, argument vectors in
// packages/hostops argv.ts), for a dry-run. A summary for people: the agent builds the
// real argument vectors from its own config (paths, units, credentials).

function compressor(c: Extract<AgentAction, { action: "send-backup" }>["compression"]): string[] {
  return c.kind === "none" ? [] : [`${c.kind} -${c.level} -c`];
}

function decompressor(
  c: Extract<AgentAction, { action: "receive-backup" }>["compression"],
): string[] {
  return c.kind === "none" ? [] : [`${c.kind} -d -c`];
}

/** The programs, as pipelines, that `action` runs on its host. */
export function agentPrograms(a: AgentAction): string[] {
  switch (a.action) {
    case "status":
      return [];
    case "stop-server":
    case "start-server":
      return [`systemctl ${a.action === "stop-server" ? "stop" : "start"} <unit of ${a.server}>`];
    case "kill-server":
      return [`kill -9 <pid of ${a.server}'s mariadbd>`];
    case "send-backup": {
      const tls = a.tls ? "OPENSSL" : "TCP";
      const source =
        a.method === "logical"
          ? `mariadb-dump ${a.databases ? `--databases ${a.databases.join(" ")}` : "--all-databases"} --single-transaction --gtid --master-data …`
          : "mariadb-backup --backup --stream=xbstream --slave-info --safe-slave-backup …";
      return [
        [
          source,
          ...compressor(a.compression),
          `socat -d -d -u - ${tls}:${a.to.address}:${a.to.port}`,
        ].join(" | "),
      ];
    }
    case "receive-backup": {
      const tls = a.tls ? "OPENSSL-LISTEN" : "TCP-LISTEN";
      const listen = `socat -d -d -u ${tls}:<port> -`;
      if (a.method === "logical") {
        return [
          ...(a.keep
            ? []
            : [`mariadb (drop user databases, reset binlogs and replication of ${a.server})`]),
          [listen, ...decompressor(a.compression), "mariadb"].join(" | "),
        ];
      }
      return [
        `systemctl stop <unit of ${a.server}>; find <datadir> -mindepth 1 -delete`,
        [listen, ...decompressor(a.compression), "mbstream -x -C <datadir>"].join(" | "),
        "mariadb-backup --prepare --target-dir <datadir>; chown -R mysql: <datadir>",
        `systemctl start <unit of ${a.server}>`,
      ];
    }
    case "cancel":
      return [`stop the programs of ${a.opId} on the host`];
    case "provision-facts":
      return [`mariadb (read binlog, ids, databases, engines, accounts of ${a.server})`];
    case "persist-replication-filters":
      return [
        `SHOW ALL SLAVES STATUS on ${a.server}; write <connection>.replicate_wild_do_table lines to its replicationFiltersFile`,
      ];
    case "take-backup":
      return [
        `mariadb (STOP SLAVE '<name>' SQL_THREAD for each running connection of ${a.server}; read gtid_slave_pos)`,
        "mariadb-backup --backup --slave-info --target-dir <backupDir>/<server>/<id>/data",
        "mariadb (START SLAVE '<name>' SQL_THREAD for exactly those); write manifest.json",
      ];
    case "list-backups":
      return [`read <backupDir>/${a.server}/*/manifest.json`];
    case "restore-backup":
      return [
        `systemctl stop <unit of ${a.server}>; find <datadir> -mindepth 1 -delete`,
        `cp -a <backupDir>/${a.server}/${a.id}/data/. <datadir>`,
        "mariadb-backup --prepare --target-dir <datadir>; chown -R mysql: <datadir>",
        `systemctl start <unit of ${a.server}>`,
        "SET GLOBAL read_only = 1 (over the local socket, before the agent answers)",
      ];
    case "prune-backups":
      return [
        `rm -r <backupDir>/${a.server}/<id> for each backup beyond the newest ${a.keep} complete one(s)${a.olderThanDays === undefined ? "" : ` and older than ${a.olderThanDays} day(s)`} (no symlink followed)`,
      ];
    default: {
      const never: never = a;
      return String(never) ? [] : [];
    }
  }
}
