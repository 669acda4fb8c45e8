// The monitor's command line (parsed by @marina/runtime's parseArgs).
import { type ParsedArgs, SERVICE_FLAGS } from "@marina/runtime";

export const MONITOR_ARGS = {
  program: "marina-monitor",
  flags: {
    ...SERVICE_FLAGS,
    /** The monitor's older spelling of --id, kept for existing unit files and scripts. */
    "monitor-id": { kind: "id", example: "m1" },
    "http-port": { kind: "port", example: "9101" },
    /** Probe only these clusters of the config (comma-separated); all by default. */
    clusters: { kind: "text", example: "c1,c2" },
  },
} as const;

export type MonitorArgs = ParsedArgs<(typeof MONITOR_ARGS)["flags"]>;
