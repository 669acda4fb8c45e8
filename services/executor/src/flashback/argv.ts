// The programs a flashback runs, as argument arrays (never a shell string): decoding the
// saved raw files (the verdict's input and the reverse), then applying the reverse with the
// mariadb client without writing a GTID of its own (sql_log_bin=0 for its session).
// Measured on 10.11: `--flashback` works on local files and with --read-from-remote-server;
// `--do-domain-ids` with `--do-server-ids` selects the transactions in both; the reverse
// carries no GTID statement, so sql_log_bin=0 is what keeps the server's GTIDs unchanged;
// applying it needs BINLOG REPLAY (BINLOG statements) and SUPER or BINLOG ADMIN (sql_log_bin).

/** Decoding the extra transactions from `start` (exclusive), filtered; `flashback`: the reverse. */
export function undoDecodeArgv(o: {
  files: readonly string[];
  start: string;
  filters: readonly string[];
  out: string;
  flashback: boolean;
}): string[] {
  return [
    "--no-defaults",
    o.flashback ? "--flashback" : "--verbose",
    ...(o.start === "" ? [] : [`--start-position=${o.start}`]),
    ...o.filters,
    `--result-file=${o.out}`,
    ...o.files,
  ];
}

/**
 * The mariadb client applying a file on its stdin: the option file first (no other is read),
 * binary-safe, stopping at the first error, never reconnecting (a new session would write
 * with sql_log_bin=1), without a GTID of its own.
 */
export function applyArgv(optionFile: string): string[] {
  return [
    `--defaults-file=${optionFile}`,
    "--batch",
    "--binary-mode",
    "--skip-reconnect",
    "--init-command=SET SESSION sql_log_bin=0",
  ];
}
