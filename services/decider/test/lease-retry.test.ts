import { type ErrorBody, type ErrorCode, errorBody } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { retryLeaseRefusals } from "../src/lease-retry.js";

type R = { ok: boolean; error: ErrorBody | null };
const refused = (code: ErrorCode): R => ({ ok: false, error: errorBody(code, code) });
const done: R = { ok: true, error: null };

/** A sender answering from a script (the last answer repeats). */
function scripted(...answers: R[]) {
  const budgets: number[] = [];
  const send = async (timeoutMs: number) => {
    budgets.push(timeoutMs);
    return answers[Math.min(budgets.length - 1, answers.length - 1)]!;
  };
  return { send, budgets };
}

describe("retryLeaseRefusals", () => {
  it.each([
    ["LEASE_UNAVAILABLE then done", [refused("LEASE_UNAVAILABLE"), done], true, 2],
    [
      "FUTURE_EPOCH twice then done",
      [refused("FUTURE_EPOCH"), refused("FUTURE_EPOCH"), done],
      true,
      3,
    ],
    ["STALE_EPOCH: final at once", [refused("STALE_EPOCH"), done], false, 1],
    ["another retryable code: the core's business", [refused("EXECUTOR_LOST"), done], false, 1],
    ["always refused: gives up after the pauses", [refused("LEASE_UNAVAILABLE")], false, 4],
  ])("%s", async (_name, answers, ok, sends) => {
    const s = scripted(...(answers as R[]));
    const r = await retryLeaseRefusals(s.send, { timeoutMs: 5_000, delaysMs: [1, 2, 3] });
    expect(r.ok).toBe(ok);
    expect(s.budgets).toHaveLength(sends);
  });

  it("stays within the request's time, each send given what is left", async () => {
    const s = scripted(refused("LEASE_UNAVAILABLE"));
    const started = performance.now();
    const r = await retryLeaseRefusals(s.send, { timeoutMs: 200, delaysMs: [50, 50, 500] });
    expect(r.error?.code).toBe("LEASE_UNAVAILABLE");
    expect(performance.now() - started).toBeLessThan(400);
    expect(s.budgets).toHaveLength(3);
    expect(s.budgets[0]).toBe(200);
    expect(s.budgets[2]!).toBeLessThan(s.budgets[1]!);
  });
});
