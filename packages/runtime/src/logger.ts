// The one logger factory: pino JSON lines, the level from LOG_LEVEL, secrets redacted.
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

/**
 * Every path a secret is known to appear under, in every service's log objects. pino
 * replaces the value with "[redacted]" wherever the path matches; `*` is one key.
 * - `password` at any depth a config object reaches when logged whole (a cluster's
 *   `admin`/`replication` account, `nats`, `config.clusters[*].…`);
 * - `pass`: the NATS client's option name;
 * - `backupPassword`: the agent's mariadb-backup account;
 * - `MYSQL_PWD`: the environment of a child process, when an agent logs it;
 * - `privateKey`: an SSH private key (the agent's `servers[].ssh.privateKey`, resolved or
 *   as its secret), alone, in an `ssh` section or a server entry.
 */
export const REDACT_PATHS: readonly string[] = [
  "password",
  "*.password",
  "*.*.password",
  "*.*.*.password",
  "config.clusters[*].admin.password",
  "config.clusters[*].replication.password",
  "pass",
  "*.pass",
  "*.*.pass",
  "backupPassword",
  "*.backupPassword",
  "MYSQL_PWD",
  "*.MYSQL_PWD",
  "*.*.MYSQL_PWD",
  "privateKey",
  "*.privateKey",
  "*.*.privateKey",
];

export const REDACTED = "[redacted]";

export interface LoggerOptions {
  /** The service: `monitor` → `"name":"marina-monitor"` on every line. */
  readonly service: string;
  /** Overrides LOG_LEVEL (then "info"). */
  readonly level?: string;
  /** Fixed fields on every line, e.g. `{ executor: "e1" }`. */
  readonly bindings?: Readonly<Record<string, unknown>>;
  /** Where lines go; stdout, written synchronously (nothing lost on exit), by default. */
  readonly destination?: DestinationStream;
  /** Where LOG_LEVEL is read; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
}

export function createLogger(o: LoggerOptions): Logger {
  const level = o.level ?? (o.env ?? process.env).LOG_LEVEL ?? "info";
  const log = pino(
    { name: `marina-${o.service}`, level, redact: { paths: [...REDACT_PATHS], censor: REDACTED } },
    o.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  return o.bindings ? log.child({ ...o.bindings }) : log;
}

/** One parsed line of a memoryLogger. */
export type LogRecord = Record<string, unknown> & { level: number; msg: string };

/**
 * A pino logger that keeps what it writes, for tests that read a log back: every JSON line
 * as written (`lines`) and parsed (`records`). No redaction: what a service hands its
 * logger is exactly what a test sees.
 */
export function memoryLogger(level = "info"): {
  log: Logger;
  lines: string[];
  records: LogRecord[];
} {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  const log = pino(
    { level },
    {
      write(line: string) {
        lines.push(line);
        records.push(JSON.parse(line) as LogRecord);
      },
    },
  );
  return { log, lines, records };
}
