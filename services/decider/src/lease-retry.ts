// Executors and agents refuse a request whose epoch the leader lease cannot confirm yet:
// LEASE_UNAVAILABLE (KV unreadable, or no live lease seen) or FUTURE_EPOCH (this leader's
// lease write not yet visible to the reader). Nothing was done, so the leader sends the
// same request again after a short pause, within the request's time (each send checks
// that it still leads); what is still refused then goes to the core, whose retry rules apply.
import type { ErrorBody } from "@marina/contracts";
import { LEASE_REFUSALS } from "@marina/lease-fence";

/** Pauses between attempts: about 1.5 s in all, half the default lease TTL. */
export const LEASE_RETRY_DELAYS_MS: readonly number[] = [50, 100, 200, 400, 800];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `send` (given the time left) again while it is refused for the lease's sake. */
export async function retryLeaseRefusals<R extends { ok: boolean; error: ErrorBody | null }>(
  send: (timeoutMs: number) => Promise<R>,
  opts: { timeoutMs: number; delaysMs?: readonly number[] },
): Promise<R> {
  const deadline = performance.now() + opts.timeoutMs;
  const delays = opts.delaysMs ?? LEASE_RETRY_DELAYS_MS;
  for (let attempt = 0; ; attempt++) {
    const r = await send(Math.max(1, Math.round(deadline - performance.now())));
    const delay = delays[attempt];
    if (r.ok || r.error === null || !LEASE_REFUSALS.has(r.error.code)) return r;
    if (delay === undefined || performance.now() + delay >= deadline) return r;
    await sleep(delay);
  }
}
