// What every command gets: where to write, which cluster, the one NATS connection (opened on
// first use, closed by the runner), how long to wait for an operation, and Ctrl-C.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Output } from "./output.js";

export interface Context {
  readonly out: Output;
  readonly cluster: string;
  /** How long a command waits for its operation; 0: no limit. */
  readonly timeoutMs: number;
  /** Aborted by Ctrl-C (SIGINT) or SIGTERM. */
  readonly signal: AbortSignal;
  connect(): Promise<NatsConnection>;
  now(): Date;
}

/** One JSON document on stdout: what `--json` prints. */
export function printJson(ctx: Context, value: unknown): void {
  ctx.out.line(JSON.stringify(value, null, 2));
}

/** One JSON value per line: what `--json` prints for a stream (events, watch). */
export function printJsonLine(ctx: Context, value: unknown): void {
  ctx.out.line(JSON.stringify(value));
}
