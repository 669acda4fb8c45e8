// Defect 1 of the hardening issue, end to end: a primary frozen (SIGSTOP) under write load
// for less than rpl_semi_sync_master_timeout, failed over, then thawed, while clients pinned
// to it keep writing. Its commits waiting for a semi-sync ack (and the writes it takes
// between the thaw and the fence) must never be answered OK: a fence that turned semi-sync
// off before those clients' connections were gone released them as acknowledged writes that
// exist only on the old primary.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runThaw } from "../src/scenarios/thaw.js";
import { type Stack, startStack } from "../src/stack.js";

describe("a primary thawed after a failover", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: true, nodes: 3 } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("acknowledges nothing the new primary lacks, to clients pinned to it", async () => {
    // 10 s semi-sync timeout in the lab; the failover takes about 4-5 s of the freeze.
    const r = await runThaw(stack, { freezeMs: 7_000 });
    expect(r.newPrimary).not.toBe("db1");
    expect(r.freezeMs).toBeLessThan(10_000);
    expect(r.stickyAcked).toBeGreaterThan(0);
    // Every acknowledgement — before the freeze, or an OK the frozen server had not sent
    // yet for a write a replica had acked — is on the new primary.
    expect(r.lost).toEqual([]);
    expect(r.thawToReadOnlyMs).not.toBeNull();
    expect(["replica", "diverged"]).toContain(r.outcome);
  });
});
