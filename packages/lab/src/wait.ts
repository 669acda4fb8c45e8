import { describeError, LabError, LabErrorCode } from "./errors.js";

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Names what was awaited in the timeout error. */
  readonly message?: string;
  /** Appended to the timeout error (e.g. current positions); called once, at timeout. */
  readonly describe?: () => string | Promise<string>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `predicate` until it returns a truthy value and returns that value. A throwing
 * predicate counts as "not yet"; the last error is reported on timeout.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: number | WaitOptions = {},
): Promise<NonNullable<T>> {
  const o: WaitOptions = typeof opts === "number" ? { timeoutMs: opts } : opts;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const intervalMs = o.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  let detail = "";
  if (o.describe) detail = await Promise.resolve(o.describe()).catch((e) => describeError(e));
  const last = lastErr === undefined ? "" : ` (last error: ${describeError(lastErr)})`;
  throw new LabError(
    LabErrorCode.Timeout,
    `timed out after ${timeoutMs} ms waiting for ${o.message ?? "condition"}${last}${detail ? `\n${detail}` : ""}`,
    { cause: lastErr, retryable: true },
  );
}
