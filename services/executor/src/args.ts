import { hostname } from "node:os";
import { MarinaError } from "@marina/contracts";

export interface MainArgs {
  readonly config: string;
  readonly id: string;
  readonly nats: string | undefined;
  readonly connectTimeoutMs: number | undefined;
  readonly socketTimeoutMs: number | undefined;
}

export const USAGE =
  "usage: marina-executor --config marina.yaml [--id e1] [--nats nats://host:4222] " +
  "[--connect-timeout-ms 1000] [--socket-timeout-ms 5000]";

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new MarinaError("VALIDATION_FAILED", `${flag} must be a positive integer`, {
      path: flag,
    });
  }
  return n;
}

/** Parses argv (without node and the script). Throws VALIDATION_FAILED naming the flag. */
export function parseArgs(
  argv: readonly string[],
  defaultId = `${hostname()}-${process.pid}`,
): MainArgs {
  const values = new Map<string, string>();
  const known = ["--config", "--id", "--nats", "--connect-timeout-ms", "--socket-timeout-ms"];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (!known.includes(flag)) {
      throw new MarinaError("VALIDATION_FAILED", `unknown argument ${arg}\n${USAGE}`, {
        path: flag,
      });
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === "") {
      throw new MarinaError("VALIDATION_FAILED", `${flag} needs a value\n${USAGE}`, { path: flag });
    }
    values.set(flag, value);
  }
  const config = values.get("--config");
  if (!config)
    throw new MarinaError("VALIDATION_FAILED", `--config is required\n${USAGE}`, {
      path: "--config",
    });
  const ct = values.get("--connect-timeout-ms");
  const st = values.get("--socket-timeout-ms");
  return {
    config,
    id: values.get("--id") ?? defaultId,
    nats: values.get("--nats"),
    connectTimeoutMs: ct === undefined ? undefined : positiveInt("--connect-timeout-ms", ct),
    socketTimeoutMs: st === undefined ? undefined : positiveInt("--socket-timeout-ms", st),
  };
}
