// The exit codes of `marina`, stable and documented in docs/cli.md: scripts branch on them.

export const EXIT = {
  /** Done: the answer was printed, the command was accepted and its operation succeeded. */
  ok: 0,
  /** The operation ran and failed or was cancelled (or, for `cancel`, finished anyway). */
  failed: 1,
  /** What was typed is wrong: an unknown flag, a missing argument, a bad value. */
  usage: 2,
  /** Marina refused the command; its error code, message and field are printed. */
  refused: 3,
  /** NATS or the deciders cannot be reached (or answer something that is not Marina's). */
  unreachable: 4,
  /** The operation did not end within --timeout; it may still be running. */
  timeout: 5,
  /** Interrupted (Ctrl-C) while waiting for an operation, which goes on without us. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type CliErrorCode =
  | "USAGE"
  | "NATS_UNREACHABLE"
  | "NATS_DENIED"
  | "NO_DECIDER"
  | "BAD_REPLY"
  | "TIMEOUT";

const EXIT_OF: Record<CliErrorCode, ExitCode> = {
  USAGE: EXIT.usage,
  NATS_UNREACHABLE: EXIT.unreachable,
  NATS_DENIED: EXIT.unreachable,
  NO_DECIDER: EXIT.unreachable,
  BAD_REPLY: EXIT.unreachable,
  TIMEOUT: EXIT.timeout,
};

/** A failure of the CLI itself (not a refusal by Marina): one line on stderr and its exit code. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly code: CliErrorCode;
  readonly exit: ExitCode;
  readonly retryable: boolean;
  /** The flag or argument at fault, for usage errors (`--timeout`, `<target>`). */
  readonly path: string | undefined;

  constructor(code: CliErrorCode, message: string, opts: { cause?: unknown; path?: string } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.exit = EXIT_OF[code];
    this.retryable = code !== "USAGE";
    this.path = opts.path;
  }
}
