// The other side of read_only=ON in every my.cnf (the recommended setting): a restart of the
// CURRENT primary — with automatic failover off, or faster than a failover — brings it back
// read-only too. Marina turns writes back on (semi-sync master first, once a semi-sync
// replica is connected) because it is still the authoritative primary, nothing else is
// writable and no server has a transaction it lacks; until then writers get read_only errors
// (the availability cost, measured by `pnpm bench returning`).
import { ExecRequestMessage, parseMessage, subjects } from "@marina/contracts";
import { startWriter, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { pollReadOnly } from "../src/scenarios/read-only-poller.js";
import { type Stack, startStack } from "../src/stack.js";
import { isEvent, status, waitPrimary } from "./scenario-helpers.js";

describe("a restarted current primary", () => {
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    stack = await startStack({
      lab: { semiSync: true, nodes: 3 },
      config: { failover: { auto: false } },
    });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("comes back read-only and is made writable again by Marina, semi-sync first", async () => {
    const { lab, nc } = stack;
    const db1 = lab.node("db1");
    // Every step sent to db1, for the failure message (a plain subscriber sees them too).
    const steps: string[] = [];
    const sub = nc.subscribe(subjects.exec("main"), {
      callback: (_e, m) => {
        const r = parseMessage(ExecRequestMessage, m.data);
        if (r.ok && r.value.payload.server === "db1") {
          steps.push(`${Math.round(performance.now())} ${JSON.stringify(r.value.payload.step)}`);
        }
      },
    });
    await waitPrimary(nc, "db1");
    const writer = await startWriter(db1, { intervalMs: 10 });
    await writer.waitForAcks(20);

    await db1.kill9();
    const poller = pollReadOnly(db1, 20);
    try {
      await db1.start();
      await poller.firstReadOnly(30_000);
      const event = await obs.waitFor(isEvent("PrimaryReadOnly", "db1"), 30_000, "PrimaryReadOnly");
      expect(event.event.reason).toMatch(/db1/);
      // Seen by the poller itself, so its record covers the change.
      await waitFor(() => poller.samples.some((x) => !x.readOnly), {
        timeoutMs: 30_000,
        message: "db1 writable again",
      });
    } finally {
      poller.stop();
    }
    // It came back read-only, then writable, and never the other way round again.
    const firstWritable = poller.samples.findIndex((s) => !s.readOnly);
    expect(firstWritable).toBeGreaterThan(0);
    expect(poller.samples[0]?.readOnly).toBe(true);
    const flips = poller.samples
      .slice(firstWritable)
      .filter((s) => s.readOnly)
      .map((s) => Math.round(s.at));
    sub.unsubscribe();
    expect(
      flips,
      `samples: ${poller.samples.map((x) => `${Math.round(x.at)}${x.readOnly ? "ro" : "rw"}`).join(" ")}; steps to db1: ${steps.join("; ")}; events: ${obs
        .events()
        .map((e) => `${e.situation} ${e.server}: ${e.reason}`)
        .join(" | ")}`,
    ).toEqual([]);
    // Semi-sync master was turned on (the lab's my.cnf has it off) before writes resumed.
    const [semi] = await db1.query<Array<{ on: number }>>(
      "SELECT @@global.rpl_semi_sync_master_enabled AS `on`",
    );
    expect(Number(semi?.on)).toBe(1);
    // Still the primary, and writes go through again (none was refused by Marina's doing
    // after it turned writes back on).
    expect((await status(nc)).primary).toBe("db1");
    const before = writer.acked.length;
    await writer.waitForAcks(before + 10, 20_000);
    await writer.stop();
    expect(obs.operations().filter((o) => o.kind === "failover")).toEqual([]);
  });
});
