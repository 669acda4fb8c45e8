// The executor's command line (parsed by @marina/runtime's parseArgs).
import { type ParsedArgs, SERVICE_FLAGS } from "@marina/runtime";

export const EXECUTOR_ARGS = {
  program: "marina-executor",
  flags: {
    ...SERVICE_FLAGS,
    "connect-timeout-ms": { kind: "positive-int", example: "1000" },
    "socket-timeout-ms": { kind: "positive-int", example: "5000" },
    /** Serve /healthz and /metrics on this port (config `executorHttp` with this port). */
    "http-port": { kind: "port", example: "9111" },
  },
} as const;

export type ExecutorArgs = ParsedArgs<(typeof EXECUTOR_ARGS)["flags"]>;
