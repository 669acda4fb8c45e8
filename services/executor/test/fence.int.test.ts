// The fence step against a real semi-sync primary whose commits wait for an ack that will
// not come (its replica's IO thread is stopped; rpl_semi_sync_master_timeout is long). A
// waiting commit answers OK when the wait ends for any reason unless its connection is
// gone: turning semi-sync master off first (the old chain) tells the client OK for writes
// no replica has. The `fence` step must end every wait with the connection gone.
import type { Connection, MariaNode } from "@marina/lab";
import { waitFor } from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningExecutor, startExecutor } from "../src/index.js";
import { ExecClient, labConfig } from "./exec-client.js";

const log = pino({ level: process.env.LOG_LEVEL ?? "silent" });
const WAITERS = 3;

type Outcome = "ok" | "error" | "pending";

/** INSERTs from `n` app sessions, each left waiting for its semi-sync ack. */
async function waitingCommits(db1: MariaNode, n: number, from: number) {
  const conns: Connection[] = [];
  const outcomes: Outcome[] = [];
  for (let i = 0; i < n; i++) {
    const c = await db1.connect({ user: "app", socketTimeoutMs: 60_000 });
    conns.push(c);
    outcomes.push("pending");
    c.query("INSERT INTO app.fenced (id) VALUES (?)", [from + i]).then(
      () => {
        outcomes[i] = "ok";
      },
      () => {
        outcomes[i] = "error";
      },
    );
  }
  await waitFor(
    async () => {
      // One commit waits for the ack; the others queue behind it in the group commit.
      const rows = await db1.query<Array<{ n: number; acks: number }>>(
        "SELECT COUNT(*) AS n, SUM(STATE LIKE '%semi-sync ACK%') AS acks FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO app.fenced%'",
      );
      return Number(rows[0]?.n) >= n && Number(rows[0]?.acks) >= 1;
    },
    { timeoutMs: 10_000, message: `${n} commits waiting for a semi-sync ack` },
  );
  return { conns, outcomes };
}

describe("the fence step on a primary with commits waiting for a semi-sync ack", () => {
  const getLab = useLab({
    shape: "primary-replicas",
    nodes: 2,
    semiSync: true,
    semiSyncMasterTimeoutMs: 60_000,
  });
  let executor: RunningExecutor;
  let client: ExecClient;
  const db = () => getLab().nodes as [MariaNode, MariaNode];
  const open: Connection[] = [];

  beforeAll(async () => {
    const lab = getLab();
    const [db1, db2] = db();
    await db1.query("CREATE TABLE IF NOT EXISTS app.fenced (id INT PRIMARY KEY) ENGINE=InnoDB");
    await waitFor(
      async () => (await db2.query<unknown[]>("SHOW TABLES IN app LIKE 'fenced'")).length === 1,
      {
        timeoutMs: 10_000,
        message: "table on db2",
      },
    );
    executor = await startExecutor({ config: labConfig(lab), id: "e-fence", log });
    client = await ExecClient.connect(lab.nats!.url);
  });
  afterAll(async () => {
    for (const c of open) c.destroy();
    await client?.close();
    await executor?.close();
  });
  beforeEach(async () => {
    const [db1, db2] = db();
    // Nobody acks: commits on db1 wait (rpl_semi_sync_master_wait_no_slave=ON, 60 s).
    await db2.query("STOP SLAVE");
    const fresh = { timeoutMs: 5_000 };
    await db1.query("SET GLOBAL read_only=0", [], fresh);
    await db1.query("SET GLOBAL rpl_semi_sync_master_enabled=1", [], fresh);
  });

  it("the hazard: turning semi-sync master off answers the waiting commits OK", async () => {
    const [db1] = db();
    const w = await waitingCommits(db1, WAITERS, 100);
    open.push(...w.conns);
    await client.ok("db1", { kind: "set-semi-sync", master: false });
    await waitFor(() => w.outcomes.every((o) => o !== "pending"), {
      timeoutMs: 10_000,
      message: "the waits ended",
    });
    expect(w.outcomes).toEqual(Array(WAITERS).fill("ok"));
  });

  it("fences without answering any waiting commit OK: read_only=1, clients gone, then semi-sync off", async () => {
    const [db1] = db();
    const w = await waitingCommits(db1, WAITERS, 200);
    open.push(...w.conns);
    const first = await client.ok("db1", { kind: "fence", kill: "all" });
    await waitFor(() => w.outcomes.every((o) => o !== "pending"), {
      timeoutMs: 10_000,
      message: "the waits ended",
    });
    expect(w.outcomes).toEqual(Array(WAITERS).fill("error"));
    expect(first.previous).toEqual({ readOnly: false, master: true });
    const killed = (first.killed as Array<{ id: number }>).map((k) => k.id);
    for (const c of w.conns) expect(killed).toContain(c.threadId);
    // The fence killed the lab's own root session too: ask on fresh connections.
    const [v] = await db1.query<Array<{ ro: number; semi: number }>>(
      "SELECT @@global.read_only AS ro, @@global.rpl_semi_sync_master_enabled AS semi",
      [],
      { timeoutMs: 5_000 },
    );
    expect([Number(v?.ro), Number(v?.semi)]).toEqual([1, 0]);
    // A new writer is refused by read_only (it is the app user, not SUPER).
    const app = await db1.connect({ user: "app" });
    open.push(app);
    await expect(app.query("INSERT INTO app.fenced (id) VALUES (299)")).rejects.toThrow(
      /read-only|read_only/,
    );
    // Idempotent: a second fence finds nothing to change and nothing to kill but itself.
    const again = await client.ok("db1", { kind: "fence", kill: "all" });
    expect(again.previous).toEqual({ readOnly: true, master: false });
    expect(again.changed).toBe(false);
  });

  it("strict: set-semi-sync makes semi-sync never fall back, and the fence keeps it on, so a SUPER write after the fence waits instead of being told OK", async () => {
    const [db1] = db();
    const fresh = { timeoutMs: 5_000 };
    const strict = { kind: "set-semi-sync", master: true, strict: true } as const;
    expect(await client.ok("db1", strict)).toMatchObject({
      master: true,
      strict: true,
      changed: true,
    });
    const settings = async () =>
      (
        await db1.query<Array<{ t: string; n: number; p: string }>>(
          "SELECT CAST(@@rpl_semi_sync_master_timeout AS CHAR) AS t, @@rpl_semi_sync_master_wait_no_slave AS n, @@rpl_semi_sync_master_wait_point AS p",
          [],
          fresh,
        )
      )[0];
    expect(await settings()).toMatchObject({ t: "18446744073709551615", p: "AFTER_SYNC" });
    expect(Number((await settings())?.n)).toBe(1);
    expect(await client.ok("db1", strict)).toMatchObject({ changed: false });
    try {
      const w = await waitingCommits(db1, WAITERS, 300);
      open.push(...w.conns);
      const fenced = await client.ok("db1", { kind: "fence", kill: "all", semiSync: "keep" });
      await waitFor(() => w.outcomes.every((o) => o !== "pending"), {
        timeoutMs: 10_000,
        message: "the waits ended",
      });
      expect(w.outcomes).toEqual(Array(WAITERS).fill("error"));
      expect(fenced).toMatchObject({ previous: { readOnly: false, master: true }, changed: true });
      const [v] = await db1.query<Array<{ ro: number; semi: number }>>(
        "SELECT @@global.read_only AS ro, @@global.rpl_semi_sync_master_enabled AS semi",
        [],
        fresh,
      );
      expect([Number(v?.ro), Number(v?.semi)]).toEqual([1, 1]);
      // A SUPER session writes through read_only; with semi-sync kept on (and no replica)
      // its commit waits for an ack instead of being acknowledged.
      const root = await db1.connect({ socketTimeoutMs: 60_000 });
      open.push(root);
      let outcome: Outcome = "pending";
      root.query("INSERT INTO app.fenced (id) VALUES (399)").then(
        () => {
          outcome = "ok";
        },
        () => {
          outcome = "error";
        },
      );
      await waitFor(
        async () => {
          const rows = await db1.query<Array<{ acks: number }>>(
            "SELECT SUM(STATE LIKE '%semi-sync ACK%') AS acks FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO app.fenced (id) VALUES (399)%'",
            [],
            fresh,
          );
          return Number(rows[0]?.acks) >= 1;
        },
        { timeoutMs: 10_000, message: "the SUPER write waits for a semi-sync ack" },
      );
      expect(outcome).toBe("pending");
      await db1.query(`KILL CONNECTION ${root.threadId}`, [], fresh);
      await waitFor(() => outcome !== "pending", { timeoutMs: 10_000, message: "killed" });
      expect(outcome).toBe("error");
    } finally {
      await db1.query("SET GLOBAL rpl_semi_sync_master_timeout = 60000", [], fresh);
    }
  });

  it("strict: a semi-sync master that fell back to async (status OFF) is re-armed", async () => {
    const [db1] = db();
    const fresh = { timeoutMs: 5_000 };
    const status = async () =>
      (
        await db1.query<Array<{ v: string }>>(
          "SELECT VARIABLE_VALUE AS v FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_STATUS'",
          [],
          fresh,
        )
      )[0]?.v;
    try {
      // No replica acks (beforeEach): a commit waits 200 ms, then MariaDB falls back.
      await db1.query("SET GLOBAL rpl_semi_sync_master_timeout = 200", [], fresh);
      await db1.query("INSERT INTO app.fenced (id) VALUES (500)", [], { timeoutMs: 10_000 });
      expect(await status()).toBe("OFF");
      const r = await client.ok("db1", { kind: "set-semi-sync", master: true, strict: true });
      expect(r).toMatchObject({ master: true, strict: true, rearmed: true, changed: true });
      expect(await status()).toBe("ON");
    } finally {
      await db1.query("SET GLOBAL rpl_semi_sync_master_timeout = 60000", [], fresh);
    }
  });
});

describe("the fence step racing writers that reconnect at once", () => {
  const getLab = useLab({
    shape: "primary-replicas",
    nodes: 2,
    semiSync: true,
    semiSyncMasterTimeoutMs: 60_000,
  });
  let executor: RunningExecutor;
  let client: ExecClient;

  beforeAll(async () => {
    const lab = getLab();
    const [db1] = lab.nodes as [MariaNode, MariaNode];
    await db1.query("CREATE TABLE IF NOT EXISTS app.raced (id INT PRIMARY KEY) ENGINE=InnoDB");
    executor = await startExecutor({ config: labConfig(lab), id: "e-race", log });
    client = await ExecClient.connect(lab.nats!.url);
  });
  afterAll(async () => {
    await client?.close();
    await executor?.close();
  });

  it("never lets a write through unacknowledged by a replica, round after round", async () => {
    const [db1, db2] = getLab().nodes as [MariaNode, MariaNode];
    await db2.query("STOP SLAVE");
    const fresh = { timeoutMs: 5_000 };
    let nextId = 1;
    const okWithoutAck: number[] = [];
    for (let round = 0; round < 25; round++) {
      await db1.query("SET GLOBAL read_only=0", [], fresh);
      await db1.query("SET GLOBAL rpl_semi_sync_master_enabled=1", [], fresh);
      let stop = false;
      // Writers that reconnect and write again as soon as their connection is killed.
      const writers = Array.from({ length: 4 }, async () => {
        while (!stop) {
          let c: Connection | undefined;
          try {
            c = await db1.connect({ user: "app", socketTimeoutMs: 30_000 });
            const id = nextId++;
            await c.query("INSERT INTO app.raced (id) VALUES (?)", [id]);
            okWithoutAck.push(id);
          } catch {
            // killed or refused: try again
          } finally {
            c?.destroy();
          }
        }
      });
      await new Promise((r) => setTimeout(r, 20 + round * 7));
      await client.ok("db1", { kind: "fence", kill: "all" });
      await new Promise((r) => setTimeout(r, 100));
      stop = true;
      await Promise.all(writers);
    }
    // db2 acknowledged nothing (its replication is stopped): every OK would be a lost write.
    expect(okWithoutAck).toEqual([]);
  }, 120_000);
});
