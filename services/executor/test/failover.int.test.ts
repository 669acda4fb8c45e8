// Executors as a queue group on a real 3-node lab: a manual failover and a rejoin driven
// only through exec requests, leader-lease fencing watched in JetStream KV (forged epochs
// refused and never learnt), and executors leaving the group (graceful close, SIGKILL)
// while requests are in flight.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { openSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  contains,
  type ExecResult,
  type ExecStep,
  parseGtidList,
  ServerObservation,
} from "@marina/contracts";
import {
  findMissingIds,
  type MariaNode,
  startWriter,
  waitFor,
  waitForConvergence,
  writeRows,
} from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningExecutor, startExecutor } from "../src/index.js";
import { ExecClient, labConfig } from "./exec-client.js";

const log = pino({ level: process.env.LOG_LEVEL ?? "silent" });
const MAIN_JS = fileURLToPath(new URL("../dist/main.js", import.meta.url));

describe("executors in a queue group on a 3-node lab", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 3 });
  const nodes = () => getLab().nodes as [MariaNode, MariaNode, MariaNode];
  let inProc: RunningExecutor;
  let child: ChildProcess | undefined;
  let client: ExecClient;

  /** Runs a step twice (a retry must be harmless) and returns the first result's data. */
  const step = async (server: string, s: ExecStep, epoch = 1) => {
    const first = await client.ok(server, s, { epoch, opId: "failover-1" });
    await client.ok(server, s, { epoch, opId: "failover-1" });
    return first;
  };

  /** Sends requests until one is answered by `id` (the queue group picks members at random). */
  const servedBy = async (id: string) =>
    waitFor(
      async () => (await client.exec("db2", { kind: "inspect" }, { epoch: 1 })).executor === id,
      { timeoutMs: 20_000, intervalMs: 10, message: `a reply from executor ${id}` },
    );

  beforeAll(async () => {
    const lab = getLab();
    const config = labConfig(lab);
    inProc = await startExecutor({ config, id: "e-a", log });
    client = await ExecClient.connect(lab.nats!.url);
    // The second member is a separate process started from the CLI entry point.
    const configFile = join(lab.dir, "marina.json");
    await writeFile(configFile, JSON.stringify(config));
    const out = openSync(join(lab.dir, "executor-b.log"), "a");
    child = spawn(process.execPath, [MAIN_JS, "--config", configFile, "--id", "e-b"], {
      stdio: ["ignore", out, out],
    });
    await servedBy("e-b");
  });

  afterAll(async () => {
    await client?.close();
    await inProc?.close();
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });

  it("both members serve requests", async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, () => client.exec("db2", { kind: "inspect" }, { epoch: 1 })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => r.executor))).toEqual(new Set(["e-a", "e-b"]));
  });

  it("a manual failover through executors leaves the writer writing on the new primary", async () => {
    const [db1, db2, db3] = nodes();
    const before = await startWriter(db1, { intervalMs: 5 });
    await before.waitForAcks(30);
    const phase1 = await before.stop();
    await waitForConvergence(nodes());

    await db1.kill9();
    const inspect = async (name: string) =>
      ServerObservation.parse(await client.ok(name, { kind: "inspect" }, { epoch: 1 }));
    const [o2, o3] = [await inspect("db2"), await inspect("db3")];
    // Both replicas have everything: db2 is a valid candidate.
    expect(contains(parseGtidList(o2.gtidCurrentPos), parseGtidList(o3.gtidCurrentPos))).toBe(true);

    await step("db2", { kind: "drain-relay-log", connection: "", timeoutMs: 10_000 });
    await step("db3", { kind: "drain-relay-log", connection: "", timeoutMs: 10_000 });
    await step("db2", { kind: "stop-replication", connection: "" });
    await step("db2", { kind: "reset-replication", connection: "" });
    await step("db2", { kind: "set-read-only", readOnly: false });
    await step("db3", { kind: "stop-replication", connection: "" });
    await step("db3", {
      kind: "change-master",
      connection: "",
      source: "db2",
      useGtid: "slave_pos",
    });
    await step("db3", { kind: "start-replication", connection: "" });
    await step("db3", { kind: "verify-replicating", connection: "", timeoutMs: 15_000 });

    const after = await startWriter(db2, { intervalMs: 5, firstId: phase1.attempted + 1 });
    await after.waitForAcks(30);
    const phase2 = await after.stop();
    expect(phase2.failed).toEqual([]);
    await waitForConvergence([db2, db3], { sources: [db2] });
    expect(await findMissingIds(db2, phase1.acked)).toEqual([]);
    expect(await findMissingIds(db3, [...phase1.acked, ...phase2.acked])).toEqual([]);
  });

  it("the old primary rejoins under the new one: fenced, positioned, repointed", async () => {
    const [db1, db2, db3] = nodes();
    await db1.start();
    await step("db1", { kind: "set-read-only", readOnly: true });
    const o1 = ServerObservation.parse(await client.ok("db1", { kind: "inspect" }, { epoch: 1 }));
    const o2 = ServerObservation.parse(await client.ok("db2", { kind: "inspect" }, { epoch: 1 }));
    // Its history must be a prefix of the new primary's before it may follow it.
    expect(contains(parseGtidList(o2.gtidBinlogState), parseGtidList(o1.gtidBinlogPos))).toBe(true);

    const set = await step("db1", { kind: "set-gtid-slave-pos", pos: o1.gtidBinlogPos });
    expect(set).toMatchObject({ changed: true, stopped: [] });
    await step("db1", {
      kind: "change-master",
      connection: "",
      source: "db2",
      useGtid: "slave_pos",
    });
    await step("db1", { kind: "start-replication", connection: "" });
    await step("db1", { kind: "verify-replicating", connection: "", timeoutMs: 15_000 });
    await writeRows(db2, 3);
    await waitForConvergence([db1, db2, db3], { sources: [db2] });
    // Fenced: the application cannot write on the old primary.
    await expect(writeRows(db1, 1)).rejects.toMatchObject({ errno: 1290 });
  });

  it("refuses forged epochs (far above, lease+1, below), learns nothing, and obeys the leader", async () => {
    const lab = getLab();
    const [, , db3] = nodes();
    const readOnly = async () =>
      (await db3.query<Array<{ ro: number }>>("SELECT @@global.read_only AS ro"))[0]!.ro;
    await client.lead(50, "kv");
    // The only executor serving cluster "kv" (same servers), so it is the one that answers.
    const fresh = await startExecutor({
      config: labConfig(lab, { cluster: "kv" }),
      id: "e-fresh",
      log,
    });
    const flip = (ro: number) => ({ kind: "set-read-only", readOnly: ro === 0 }) as const;
    try {
      const ro = await readOnly();
      // Even a read-only step with a forged epoch is refused: its epoch must not be learnt.
      const forged = await client.exec(
        "db3",
        { kind: "inspect" },
        { cluster: "kv", epoch: Number.MAX_SAFE_INTEGER },
      );
      expect(forged.executor).toBe("e-fresh");
      expect(forged).toMatchObject({
        ok: false,
        data: { currentEpoch: 50 },
        error: { code: "FUTURE_EPOCH", path: "payload.epoch", retryable: true },
      });
      for (const [epoch, code] of [
        [51, "FUTURE_EPOCH"],
        [49, "STALE_EPOCH"],
        [Number.MAX_SAFE_INTEGER, "FUTURE_EPOCH"],
      ] as const) {
        const r = await client.exec("db3", flip(ro), { cluster: "kv", epoch });
        expect(r.error, `epoch ${epoch}`).toMatchObject({ code, path: "payload.epoch" });
      }
      expect(await readOnly()).toBe(ro);
      // The leader's next step runs (and is undone).
      const led = await client.exec("db3", flip(ro), { cluster: "kv" });
      expect(led).toMatchObject({ ok: true, data: { changed: true } });
      await client.ok("db3", flip(1 - ro), { cluster: "kv" });
      expect(await readOnly()).toBe(ro);
      // A new leader's first step is admitted at once: the executor reads KV again...
      await client.lead(51, "kv");
      expect((await client.exec("db3", { kind: "inspect" }, { cluster: "kv" })).ok).toBe(true);
      // ...and once its watch shows the new lease, the old leader's epoch is refused.
      await waitFor(
        async () => {
          const r = await client.exec("db3", { kind: "inspect" }, { cluster: "kv", epoch: 50 });
          return r.error?.code === "STALE_EPOCH" && r.data.currentEpoch === 51;
        },
        { timeoutMs: 10_000, message: "epoch 50 refused after the lease moved to 51" },
      );
    } finally {
      await fresh.close();
    }
  });

  it("close() mid-queue: requests in flight are answered, later ones go to the others", async () => {
    const leaving = await startExecutor({ config: labConfig(getLab()), id: "e-c", log });
    await servedBy("e-c");
    const slow: ExecStep = { kind: "wait-binlog-stable", stableMs: 1500, timeoutMs: 20_000 };
    const inFlight = Array.from({ length: 12 }, () =>
      client.exec("db2", slow, { epoch: 1, timeoutMs: 20_000 }),
    );
    await new Promise((r) => setTimeout(r, 300));
    await leaving.close();
    const done = await Promise.all(inFlight);
    expect(done.every((r) => r.ok)).toBe(true);
    const later = await Promise.all(
      Array.from({ length: 12 }, () => client.exec("db2", { kind: "inspect" }, { epoch: 1 })),
    );
    expect(later.every((r) => r.ok && r.executor !== "e-c")).toBe(true);
  });

  it("an executor killed mid-queue: its steps are retried on the other member", async () => {
    const proc = child!;
    const slow: ExecStep = { kind: "wait-binlog-stable", stableMs: 1500, timeoutMs: 20_000 };
    let retried = 0;
    // What the decider does: a request without a reply in time is sent again.
    const withRetry = async (): Promise<ExecResult> => {
      try {
        return await client.exec("db2", slow, { epoch: 1, timeoutMs: 5_000 });
      } catch {
        retried++;
        return client.exec("db2", slow, { epoch: 1, timeoutMs: 20_000 });
      }
    };
    const inFlight = Array.from({ length: 12 }, withRetry);
    await new Promise((r) => setTimeout(r, 300));
    proc.kill("SIGKILL");
    await once(proc, "exit");
    const done = await Promise.all(inFlight);
    expect(done.every((r) => r.ok && r.executor === "e-a")).toBe(true);
    log.info({ retried }, "requests retried after the kill");
    const later = await Promise.all(
      Array.from({ length: 12 }, () => client.exec("db2", { kind: "inspect" }, { epoch: 1 })),
    );
    expect(later.every((r) => r.ok && r.executor === "e-a")).toBe(true);
  });
});
