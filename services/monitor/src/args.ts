// Command-line arguments, parsed purely so the rules are unit-tested.
import { MarinaError } from "@marina/contracts";

export interface MonitorArgs {
  readonly config: string;
  readonly monitorId: string | undefined;
  readonly httpPort: number | undefined;
  readonly nats: string | undefined;
}

export const USAGE =
  "usage: marina-monitor --config marina.yaml [--monitor-id m1] [--http-port 9101] [--nats nats://host:4222]";

/** Accepts `--flag value` and `--flag=value`. Errors are MarinaErrors naming the flag. */
export function parseArgs(argv: readonly string[]): MonitorArgs {
  const values = new Map<string, string>();
  const known = new Set(["config", "monitor-id", "http-port", "nats"]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !known.has(m[1]!)) {
      throw new MarinaError("VALIDATION_FAILED", `unknown argument "${arg}"; ${USAGE}`);
    }
    const name = m[1]!;
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === "") {
      throw new MarinaError("VALIDATION_FAILED", `--${name} needs a value; ${USAGE}`, {
        path: name,
      });
    }
    values.set(name, value);
  }
  const config = values.get("config");
  if (config === undefined) {
    throw new MarinaError("VALIDATION_FAILED", `--config is required; ${USAGE}`, {
      path: "config",
    });
  }
  const monitorId = values.get("monitor-id");
  if (monitorId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/.test(monitorId)) {
    throw new MarinaError(
      "VALIDATION_FAILED",
      "--monitor-id must be 1-128 letters, digits, '.', '@', '-' or '_'",
      { path: "monitor-id" },
    );
  }
  const portText = values.get("http-port");
  let httpPort: number | undefined;
  if (portText !== undefined) {
    httpPort = Number(portText);
    if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535) {
      throw new MarinaError("VALIDATION_FAILED", "--http-port must be an integer 0-65535", {
        path: "http-port",
      });
    }
  }
  return { config, monitorId, httpPort, nats: values.get("nats") };
}

/** A stable default id: the host name, cut to the allowed alphabet. */
export function defaultMonitorId(hostname: string): string {
  const cleaned = hostname.replace(/[^A-Za-z0-9_.@-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return (cleaned || "monitor").slice(0, 128);
}
