// The decider's command line (parsed by @marina/runtime's parseArgs).
import { ApiSettings, type HttpListen, type MarinaConfig, MarinaError } from "@marina/contracts";
import { type ParsedArgs, SERVICE_FLAGS } from "@marina/runtime";
import type { SharingOptions } from "./app.js";
import { FORMATS, OLDEST_FORMATS } from "./formats.js";

export const DECIDER_ARGS = {
  program: "marina-decider",
  flags: {
    ...SERVICE_FLAGS,
    /** A dead leader is replaced after about this long (DEFAULT_LEASE_TTL_MS). */
    "lease-ttl-ms": { kind: "positive-int", example: "3000" },
    /** A non-preferred decider takes a lease left free this long (default: the lease TTL). */
    "free-lease-grace-ms": { kind: "positive-int", example: "3000" },
    /** Hand a cluster to its preferred decider once that one was alive this long. */
    "handover-stable-ms": { kind: "positive-int", example: "30000" },
    /** Least time between two handovers of one cluster (doubled per failed one). */
    "handover-backoff-ms": { kind: "positive-int", example: "30000" },
    /** Write the decider state in this format at most (a rollback to an older release). */
    "state-format": { kind: "positive-int", example: "1" },
    /** Serve the HTTP API on this port (config `api` with this port; 0: a free one). */
    "api-port": { kind: "port", example: "9110" },
    /** Serve /healthz and /metrics on this port (config `deciderMetrics` with this port). */
    "metrics-port": { kind: "port", example: "9112" },
  },
} as const;

export type DeciderArgs = ParsedArgs<(typeof DECIDER_ARGS)["flags"]>;

/** The sharing settings given on the command line (absent ones take their defaults). */
export function sharingOptions(args: DeciderArgs): SharingOptions {
  const o: { -readonly [K in keyof SharingOptions]: SharingOptions[K] } = {};
  if (args["free-lease-grace-ms"] !== undefined) o.freeGraceMs = args["free-lease-grace-ms"];
  if (args["handover-stable-ms"] !== undefined) o.handoverStableMs = args["handover-stable-ms"];
  if (args["handover-backoff-ms"] !== undefined) o.handoverBackoffMs = args["handover-backoff-ms"];
  return o;
}

/**
 * The HTTP API's settings: config `api`, its port replaced by `--api-port` (which also
 * turns the API on, with the defaults, when the config has no `api`); undefined for none.
 */
export function apiSettingsOf(args: DeciderArgs, config: MarinaConfig): ApiSettings | undefined {
  const port = args["api-port"];
  if (port === undefined) return config.api;
  return { ...(config.api ?? ApiSettings.parse({})), port };
}

/** The metrics-only server: config `deciderMetrics`, its port replaced by `--metrics-port`. */
export function metricsAddressOf(args: DeciderArgs, config: MarinaConfig): HttpListen | undefined {
  const port = args["metrics-port"];
  if (port === undefined) return config.deciderMetrics;
  return { host: config.deciderMetrics?.host ?? "127.0.0.1", port };
}

/** `--state-format`, checked against the formats this release writes (a bad one: exit 2). */
export function stateFormatFlag(args: DeciderArgs): number | undefined {
  const f = args["state-format"];
  if (f !== undefined && (f < OLDEST_FORMATS.state || f > FORMATS.state)) {
    throw new MarinaError(
      "VALIDATION_FAILED",
      `--state-format ${f}: this release writes state formats ${OLDEST_FORMATS.state} to ${FORMATS.state}`,
      { path: "--state-format" },
    );
  }
  return f;
}
