import { type Logger, pino } from "pino";

/** Paths pino blanks out wherever they appear: secrets must never reach a log line. */
export const REDACT = [
  "password",
  "pass",
  "*.password",
  "*.pass",
  "*.*.password",
  "config.clusters[*].admin.password",
  "config.clusters[*].replication.password",
  "config.nats.password",
];

/** JSON logs to stdout, written synchronously so nothing is lost on exit. */
export function createLogger(
  name = "marina-monitor",
  level = process.env.LOG_LEVEL ?? "info",
): Logger {
  return pino(
    { name, level, redact: { paths: REDACT, censor: "[redacted]" } },
    pino.destination({ dest: 1, sync: true }),
  );
}
