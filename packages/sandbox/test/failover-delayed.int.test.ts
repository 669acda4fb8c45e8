// A delayed replica (MASTER_DELAY) is never promoted (issue 18): its IO thread is not
// delayed, so it looks like it received the most, but what it received waits in its relay
// log. Marina turns its semi-sync off (it must not acknowledge writes it cannot give to a
// candidate), promotes the other replica after kill -9 of the primary, and repoints it with
// its delay kept.
import { findMissingIds, startWriter, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import { command } from "./ha-helpers.js";

const DELAY_S = 3600;

type Row = Record<string, unknown>;

describe("failover with a delayed replica", () => {
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: true, nodes: 3 } });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("keeps it off semi-sync, promotes the other replica, and repoints it still delayed", async () => {
    const { lab } = stack;
    await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.primary === "db1",
      20_000,
      "initial topology",
    );
    const db3 = lab.node("db3");
    await db3.query("STOP SLAVE");
    await db3.query(`CHANGE MASTER TO MASTER_DELAY=${DELAY_S}`);
    await db3.query("START SLAVE");

    // Marina sees the delay in the monitor's samples and turns db3's semi-sync slave off.
    await obs.waitFor(
      (o) =>
        o.kind === "event" &&
        o.event.situation === "DurabilityWeakened" &&
        o.event.server === "db3" &&
        /delayed replica \(MASTER_DELAY 3600 s\)/.test(o.event.reason),
      20_000,
      "DurabilityWeakened db3 (delayed)",
    );
    await waitFor(
      async () => {
        const [r] = (await db3.query("SELECT @@rpl_semi_sync_slave_enabled AS on_")) as Row[];
        return Number(r?.on_) === 0;
      },
      { timeoutMs: 20_000, message: "semi-sync slave off on db3" },
    );

    // The ranking says why db3 is out (db3 would otherwise tie with db2), and db3 named as a
    // target is refused.
    const dry = await command(stack.nc, "switchover", { dryRun: true });
    expect(dry.ok, JSON.stringify(dry)).toBe(true);
    const ranked = dry.ok ? (dry.dryRun?.candidates ?? []) : [];
    expect(ranked.find((c) => c.server === "db3")?.reason).toMatch(
      /excluded: delayed replica \(MASTER_DELAY 3600 s\)/,
    );
    expect(ranked.find((c) => c.server === "db2")?.rank).toBe(1);
    const toDb3 = await command(stack.nc, "switchover", { target: "db3", dryRun: true });
    expect(JSON.stringify(toDb3)).toMatch(/delayed replica/);

    const writer = await startWriter(() => lab.node("db1"), { intervalMs: 5 });
    await writer.waitForAcks(50);
    const before = await writer.stop();
    // db3 received everything (its IO thread is not delayed) and applied nothing of it.
    const [pos] = (await db3.query("SELECT @@gtid_slave_pos AS applied")) as Row[];
    const [io] = (await db3.query("SHOW ALL SLAVES STATUS")) as Row[];
    expect(String(io?.Gtid_IO_Pos)).not.toBe(String(pos?.applied));

    await lab.node("db1").kill9();
    const done = await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.kind === "failover" &&
        o.operation.state !== "running",
      30_000,
      "the failover's end",
    );
    expect(done.kind === "operation" && done.operation.state).toBe("succeeded");
    const promoted = await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.primary === "db2",
      10_000,
      "db2 primary",
    );
    expect(promoted.kind === "topology" && promoted.topology.writer?.server).toBe("db2");
    expect(await findMissingIds(lab.node("db2"), before.acked)).toEqual([]);

    // db3 follows db2 now, still delayed, and is no semi-sync replica.
    await waitFor(
      async () => {
        const rows = (await db3.query("SHOW ALL SLAVES STATUS")) as Row[];
        return (
          rows.length === 1 &&
          rows[0]!.Master_Port === lab.node("db2").port &&
          Number(rows[0]!.SQL_Delay) === DELAY_S &&
          rows[0]!.Slave_IO_Running === "Yes"
        );
      },
      { timeoutMs: 30_000, message: "db3 replicating from db2 with its delay" },
    );
    const [semi] = (await db3.query("SELECT @@rpl_semi_sync_slave_enabled AS on_")) as Row[];
    expect(Number(semi?.on_)).toBe(0);
  });
});
