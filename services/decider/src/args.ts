// The decider's command line (parsed by @marina/runtime's parseArgs).
import { type ParsedArgs, SERVICE_FLAGS } from "@marina/runtime";

export const DECIDER_ARGS = {
  program: "marina-decider",
  flags: {
    ...SERVICE_FLAGS,
    /** A dead leader is replaced after about this long (DEFAULT_LEASE_TTL_MS). */
    "lease-ttl-ms": { kind: "positive-int", example: "3000" },
  },
} as const;

export type DeciderArgs = ParsedArgs<(typeof DECIDER_ARGS)["flags"]>;
