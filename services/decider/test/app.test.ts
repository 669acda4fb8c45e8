// buildApp over an in-memory bus and KV: no I/O while building; once started, one decider
// takes the lease, answers commands through its core and releases the lease on close.
import { systemClock } from "@marina/runtime";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { readLease } from "../src/lease.js";
import { FakeBus } from "./fake-bus.js";
import { FakeKv } from "./fake-kv.js";
import { config } from "./fixtures.js";

async function until(ok: () => boolean, ms = 2_000) {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("buildApp", () => {
  it("touches nothing until started; then leads, answers and releases", async () => {
    const bus = new FakeBus();
    const kv = { leases: new FakeKv(), state: new FakeKv() };
    const log = pino({ level: "silent" });
    const deps = { bus, kv, clock: systemClock, log, config, id: "decider-a" };
    const app = buildApp({ ...deps, leaseTtlMs: 1_000, renewEveryMs: 100, tickMs: 50 });
    expect(bus.listens("marina.v1.main.cmd.status")).toBe(false);
    expect(await kv.leases.get("main")).toBeNull();

    app.start();
    try {
      await until(() => app.leases.get("main")?.leader === true);
      expect((await readLease(kv.leases, "main"))?.holder).toBe("decider-a");
      await until(() => bus.listens("marina.v1.main.leader.cmd.status"));
      const reply = await bus.ask("marina.v1.main.cmd.status", {});
      expect(reply).toMatchObject({ source: "decider-a", payload: { ok: true, verb: "status" } });
    } finally {
      await app.close();
    }
    expect(await readLease(kv.leases, "main")).toBeUndefined();
  });
});
