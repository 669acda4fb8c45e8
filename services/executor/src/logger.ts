import { type Logger, pino } from "pino";

export type { Logger };

// Passwords never reach a log line: the config sections that carry them are redacted
// wherever they might be attached to a log object.
const REDACT = [
  "password",
  "*.password",
  "*.*.password",
  "admin",
  "replication",
  "*.admin",
  "*.replication",
];

export function createLogger(opts: { level?: string; executor?: string } = {}): Logger {
  return pino({
    level: opts.level ?? process.env.LOG_LEVEL ?? "info",
    base: { service: "executor", ...(opts.executor ? { executor: opts.executor } : {}) },
    redact: { paths: REDACT, censor: "[redacted]" },
  });
}
