// The failover command as a person types it (raw JSON text on the subject): its refusals
// change nothing; with a target it promotes exactly that server; forced, it fences a live
// primary first. Automatic failover is off in this lab so every promotion is the command's.
import { findMissingIds, startWriter, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import {
  command,
  failoverOps,
  healthLog,
  isEvent,
  isOperation,
  newPrimary,
  readOnly,
  roleOf,
  slaves,
  status,
  topologiesWithTwoPrimaries,
  topologyWriter,
  waitPrimary,
} from "./scenario-helpers.js";

describe("the manual failover command", () => {
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

  it("refuses what it must, and promotes the requested target", async () => {
    const { lab, nc } = stack;
    await waitPrimary(nc, "db1");
    const writer = await startWriter(topologyWriter(lab, obs, "db1"), { intervalMs: 5 });
    const db2Health = healthLog(nc, "db2");
    try {
      await writer.waitForAcks(30);

      // The primary is alive: failover refuses without force.
      const alive = await command(nc, "failover", '{"target": "db3"}');
      expect(alive.ok).toBe(false);
      expect(!alive.ok && alive.error.code).toBe("PRIMARY_ALIVE");

      const unknown = await command(nc, "failover", '{"target": "db9", "force": true}');
      expect(!unknown.ok && unknown.error).toMatchObject({
        code: "UNKNOWN_SERVER",
        path: "target",
      });

      const badType = await command(nc, "failover", '{"target": "db3", "force": "yes"}');
      expect(!badType.ok && badType.error).toMatchObject({
        code: "VALIDATION_FAILED",
        path: "force",
      });
      const typo = await command(nc, "failover", '{"targt": "db3", "force": true}');
      expect(!typo.ok && typo.error.code).toBe("VALIDATION_FAILED");
      expect(!typo.ok && typo.error.message).toContain("targt");
      const badName = await command(nc, "failover", '{"target": "db3; DROP TABLE x"}');
      expect(!badName.ok && badName.error).toMatchObject({
        code: "VALIDATION_FAILED",
        path: "target",
      });
      const notJson = await command(nc, "failover", '{"target": "db3"');
      expect(!notJson.ok && notJson.error.code).toBe("BAD_JSON");

      // Nothing happened: no operation, db1 still the writable primary, writes go on.
      const st = await status(nc);
      expect(st.operation).toBeNull();
      expect(st.history).toEqual([]);
      expect(st.primary).toBe("db1");
      expect(obs.operations()).toEqual([]);
      expect(await readOnly(lab.node("db1"))).toBe(false);
      const acked = writer.acked.length;
      await writer.waitForAcks(acked + 10);

      // db1 dies: automatic failover is off, so Marina only reports.
      await lab.node("db1").kill9();
      const blocked = await obs.waitFor(
        isEvent("FailoverBlocked", "db1"),
        30_000,
        "FailoverBlocked db1",
      );
      expect(blocked.event.reason).toMatch(/failover\.auto is false/);
      expect(failoverOps(obs)).toEqual([]);

      // db2 would be the default choice (same position, first in config): ask for db3.
      const started = await command(
        nc,
        "failover",
        '{"target": "db3", "reason": "operator: db2 host is being retired"}',
      );
      expect(started).toMatchObject({ ok: true });
      const opId = started.ok ? started.opId : undefined;
      expect(opId).toBeTruthy();
      const done = await obs.waitFor(
        isOperation((o) => o.opId === opId && o.state !== "running"),
        30_000,
        "manual failover result",
      );
      expect(done.operation.state).toBe("succeeded");
      expect(done.operation.servers).toMatchObject({ failed: "db1", candidate: "db3" });
      const promoted = await obs.waitFor(newPrimary("db1"), 10_000, "topology with db3");
      expect(promoted.topology.primary).toBe("db3");
      const db3 = lab.node("db3");
      await waitFor(
        async () => (await slaves(lab.node("db2"))).some((r) => r.Master_Port === db3.port),
        { timeoutMs: 20_000, message: "db2 replicating from db3" },
      );
      // As an operator would, wait until the monitor has SEEN db2 replicate from db3: the
      // decider judges a target by the samples it has (an older one shows the repoint midway).
      await db2Health.waitCount(
        2,
        (s) =>
          s.observation?.replication.some(
            (c) => c.masterPort === db3.port && c.ioThread === "Yes" && c.sqlThread,
          ) === true,
        20_000,
      );
      const onDb3 = writer.acked.length;
      await writer.waitForAcks(onDb3 + 20, 20_000);
      expect(await findMissingIds(db3, writer.acked)).toEqual([]);

      // Forced, with a live primary: db3 is fenced first, then db2 promoted.
      const forced = await command(nc, "failover", '{"target": "db2", "force": true}');
      expect(forced.ok ? forced : forced.error).toMatchObject({ opId: expect.any(String) });
      const forcedId = forced.ok ? forced.opId : undefined;
      const forcedDone = await obs.waitFor(
        isOperation((o) => o.opId === forcedId && o.state !== "running"),
        30_000,
        "forced failover result",
      );
      expect(forcedDone.operation.state).toBe("succeeded");
      await obs.waitFor(
        (o) => o.kind === "topology" && o.topology.primary === "db2" && o.topology.writer !== null,
        10_000,
        "topology with db2",
      );
      // db3 comes back as a read-only replica of db2 (its history is a prefix of db2's).
      await obs.waitFor(
        (o) => o.kind === "topology" && roleOf(o.topology, "db3") === "replica",
        30_000,
        "db3 rejoined",
      );
      expect(await readOnly(db3)).toBe(true);
      const onDb2 = writer.acked.length;
      await writer.waitForAcks(onDb2 + 20, 20_000);
      expect(await findMissingIds(lab.node("db2"), writer.acked)).toEqual([]);
      expect(topologiesWithTwoPrimaries(obs)).toEqual([]);
    } finally {
      db2Health.close();
      await writer.stop();
    }
  });
});
