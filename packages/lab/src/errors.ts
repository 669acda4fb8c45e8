/** Stable codes for everything the lab can fail with. */
export const LabErrorCode = {
  BadOptions: "LAB_BAD_OPTIONS",
  BadGtid: "LAB_BAD_GTID",
  StartFailed: "LAB_START_FAILED",
  ProcessFailed: "LAB_PROCESS_FAILED",
  Timeout: "LAB_TIMEOUT",
  Closed: "LAB_CLOSED",
  NoFreePort: "LAB_NO_FREE_PORT",
  /** An `ip` / `iptables` command of a lab network failed, or no network index is free. */
  NetworkFailed: "LAB_NETWORK_FAILED",
  /** A Marina identity was refused by NATS permissions during the lab's life. */
  NatsPermissionViolation: "LAB_NATS_PERMISSION_VIOLATION",
} as const;
export type LabErrorCode = (typeof LabErrorCode)[keyof typeof LabErrorCode];

export class LabError extends Error {
  override readonly name = "LabError";
  readonly code: LabErrorCode;
  readonly retryable: boolean;

  constructor(
    code: LabErrorCode,
    message: string,
    opts: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
  }
}

/** A short, printable description of any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
