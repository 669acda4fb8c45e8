// The executor's command line (parsed by @marina/runtime's parseArgs).
import { type ParsedArgs, SERVICE_FLAGS } from "@marina/runtime";

export const EXECUTOR_ARGS = {
  program: "marina-executor",
  flags: {
    ...SERVICE_FLAGS,
    "connect-timeout-ms": { kind: "positive-int", example: "1000" },
    "socket-timeout-ms": { kind: "positive-int", example: "5000" },
  },
} as const;

export type ExecutorArgs = ParsedArgs<(typeof EXECUTOR_ARGS)["flags"]>;
