// The current decider over records an older release left in a real NATS KV: a recorded
// format-1 state and lease (the release before formats were versioned) are read, the lease
// fences executors across the change, and the state is rewritten in the current format with
// its decisions; a state of a newer format is never written over, and the decider does not
// lead the cluster until the state is of a format it reads.
import { CommandReplyMessage, parseMessage } from "@marina/contracts";
import { STATE_FORMAT } from "@marina/decider-core";
import { waitFor } from "@marina/lab";
import { kvLeaseSource, LeaseFence } from "@marina/lease-fence";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeState, encodeState } from "../src/state-format.js";
import { formatOne } from "./format-fixtures.js";
import { type FormatWorld, formatWorld } from "./format-world.js";

const recorded = formatOne("state-after-failover");
const STATE_KEY = "main.decider";

/** The decisions of the recorded state, whatever format holds them. */
function expectCarried(v: Record<string, unknown>) {
  expect(v.primary).toBe("db2");
  expect(v.failovers).toEqual(recorded.failovers);
  expect(v.maintenance).toEqual(recorded.maintenance);
  expect(v.exPrimaries).toEqual(recorded.exPrimaries);
  expect(v.history).toEqual(recorded.history);
}

describe("a decider over records of older and newer formats", () => {
  let w: FormatWorld;
  beforeEach(async () => {
    w = await formatWorld();
  });
  afterEach(async () => {
    await w.close();
  });

  it("reads a recorded format-1 state and lease, fences across the change, and rewrites the state in the current format", async () => {
    // What the release before formats left: its state, its epoch counter, its live lease.
    await w.put(w.state, STATE_KEY, recorded);
    await w.put(w.state, "main.epoch", "1");
    await w.put(w.leases, "main", { ...formatOne("lease"), renewedAt: new Date().toISOString() });

    // An executor's fence reads the format-1 lease as it did.
    const fence = new LeaseFence(kvLeaseSource(w.nc, { log: { warn() {} } }), () => Date.now());
    fence.start();
    try {
      expect(await fence.admit("main", 1)).toEqual({ ok: true });

      const d = await w.decider("decider-new");
      // The old lease lapses (its holder is gone); the new decider takes it at a higher epoch.
      await waitFor(() => d.leads(), 15_000);
      expect(d.epoch()).toBe(2);
      const lease = (await w.read(w.leases, "main"))?.value;
      expect(lease).toMatchObject({ version: 2, holder: "decider-new", epoch: 2 });
      expect(await fence.admit("main", 2)).toEqual({ ok: true });
      expect(await fence.admit("main", 1)).toMatchObject({
        ok: false,
        error: { code: "STALE_EPOCH" },
      });

      // The state is rewritten in the current format, by the new leader, decisions carried.
      const stored = await waitFor(async () => {
        const v = (await w.read(w.state, STATE_KEY))?.value as Record<string, unknown>;
        return v.version === STATE_FORMAT ? v : undefined;
      }, 10_000);
      expect(stored.writtenBy).toEqual({ decider: "decider-new", epoch: 2 });
      expectCarried(stored);

      // And it acts on them: status shows the primary, the maintenance and the fenced server.
      const r = await w.nc.request("marina.v1.main.cmd.status", "{}", { timeout: 5000 });
      const reply = parseMessage(CommandReplyMessage, r.data);
      expect(reply.ok && reply.value.payload.ok).toBe(true);
      const data = reply.ok && reply.value.payload.ok ? reply.value.payload.data : undefined;
      expect(data).toMatchObject({
        decider: "decider-new",
        epoch: 2,
        primary: "db2",
        maintenance: ["db3"],
        fenced: ["db1"],
      });
    } finally {
      await fence.close();
    }
  });

  it("never writes over a state of a newer format, and leads once it is of one it reads", async () => {
    const newer = { ...recorded, version: STATE_FORMAT + 1, somethingNew: { x: 1 } };
    await w.put(w.state, STATE_KEY, newer);
    await w.put(w.state, "main.epoch", "4");
    const before = await w.read(w.state, STATE_KEY);

    const d = await w.decider("decider-a");
    const refusal = await waitFor(
      () => d.logs.find((l) => l.code === "UNSUPPORTED_FORMAT"),
      10_000,
    );
    expect(refusal).toMatchObject({
      level: 50,
      cluster: "main",
      format: STATE_FORMAT + 1,
      reads: { oldest: 1, newest: STATE_FORMAT },
    });
    expect(refusal.msg).toMatch(/not leading the cluster/);
    // It took the lease once (epoch 5), found the state, gave the lease up: and it stays out,
    // without drawing epochs, and says so in its presence record.
    await waitFor(async () => !d.leads() && (await w.read(w.leases, "main")) === undefined, 5000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(d.leads()).toBe(false);
    expect((await w.read(w.state, "main.epoch"))?.value).toBe(5);
    expect(await w.read(w.state, STATE_KEY)).toEqual(before);
    const presence = (await w.read(w.presence, "decider-a"))?.value;
    expect(presence).toMatchObject({ clusters: [], formats: { state: STATE_FORMAT } });

    // A newer decider writes the state in this one's format (as it does when it sees an
    // older decider alive): it is read again, led, and its decisions kept.
    const decoded = decodeState(recorded);
    if (decoded.kind !== "ok") throw new Error("the recorded state does not decode");
    const readable = encodeState(decoded.state, STATE_FORMAT, {
      decider: "decider-newer",
      epoch: 5,
    });
    await w.put(w.state, STATE_KEY, readable);
    await waitFor(() => d.leads(), 10_000);
    expect(d.epoch()).toBe(6);
    const stored = await waitFor(async () => {
      const v = (await w.read(w.state, STATE_KEY))?.value as Record<string, unknown>;
      return (v.writtenBy as { decider?: string } | null)?.decider === "decider-a" ? v : undefined;
    }, 10_000);
    expectCarried(stored);
    expect(stored.writtenBy).toEqual({ decider: "decider-a", epoch: 6 });
  });
});
