// `marina history` as a process against a running Marina (lab of three semi-sync mariadbd,
// monitor, executors, a decider; NATS with Marina's permissions, the CLI as the operator):
// a switchover and a refused failover are recorded in MARINA_HISTORY, read back with every
// decider stopped, and again after a new decider took over — which records into the same
// stream.
import type { OperationRecord } from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { type Stack, startStack } from "@marina/sandbox";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marina, type Ran } from "./marina-process.js";

describe("marina history", () => {
  let stack: Stack;
  let env: Record<string, string>;
  const run = (...args: string[]) => marina(args, env);
  const explain = (r: Ran) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  const history = async (...args: string[]) => {
    const r = await run("--json", "history", ...args);
    expect(r.code, explain(r)).toBe(0);
    return (JSON.parse(r.stdout) as { records: OperationRecord[] }).records;
  };
  const primaryIs = async (name: string) => {
    const r = await run("--json", "status");
    return r.code === 0 && (JSON.parse(r.stdout) as { primary: string | null }).primary === name;
  };

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: true, nodes: 3 } });
    const operator = stack.lab.natsUsers!.operator;
    env = {
      MARINA_NATS: stack.lab.natsUrls.join(","),
      MARINA_NATS_USER: operator.user,
      MARINA_NATS_PASSWORD: operator.password,
    };
    await waitFor(() => primaryIs("db1"), {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: "db1 primary",
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  let switchoverId = "";

  it("records a switchover and a refused failover; both read back with no decider running", async () => {
    const s = await run("--json", "switchover", "db2", "--reason", "history e2e");
    expect(s.code, explain(s)).toBe(0);
    const started = JSON.parse(s.stdout) as {
      reply: { opId: string };
      operation: { timings: Record<string, number>; endedAt: string };
    };
    switchoverId = started.reply.opId;
    const refused = await run("failover");
    expect(refused.code, explain(refused)).toBe(3);

    // Stored once acknowledged by the stream: wait for both, then stop every decider.
    await waitFor(async () => (await history()).length >= 2, {
      timeoutMs: 10_000,
      intervalMs: 300,
      message: "two records",
    });
    for (const d of stack.deciders.splice(0)) {
      await d.app.close();
      await d.nc.close();
    }
    const nobody = await run("status");
    expect(nobody.code, explain(nobody)).toBe(4);

    const records = await history();
    expect(records.map((r) => [r.kind, r.outcome])).toEqual([
      ["switchover", "succeeded"],
      ["failover", "refused"],
    ]);
    const [sw, fo] = records as [OperationRecord, OperationRecord];
    expect(sw).toMatchObject({
      cluster: "main",
      id: switchoverId,
      trigger: "command",
      error: null,
      servers: { old: "db1", target: "db2" },
      decider: "decider-1",
      endedAt: started.operation.endedAt,
      request: { verb: "switchover", payload: { target: "db2", reason: "history e2e" } },
    });
    // The envelope's source: who ran `marina`, on which host.
    expect(sw.request?.source).toMatch(/^marina-cli:.+@.+$/);
    expect(sw.request?.messageId).toBeTruthy();
    // Phases and their times are the operation's; every step answered and timed.
    const { total, ...phases } = started.operation.timings;
    expect(sw.durationMs).toBe(total);
    expect(Object.fromEntries(sw.phases.map((p) => [p.name, p.durationMs]))).toEqual(phases);
    expect(sw.phases.map((p) => p.name)).toEqual(
      expect.arrayContaining(["demote", "read-pos", "catch-up", "promote", "repoint"]),
    );
    expect(sw.steps.length).toBeGreaterThan(5);
    for (const step of sw.steps.filter((x) => x.status === "ok")) {
      expect(step.durationMs, step.description).toBeGreaterThanOrEqual(0);
      expect(Date.parse(step.endedAt!)).toBeGreaterThanOrEqual(Date.parse(step.sentAt!));
    }
    expect(sw.steps.some((x) => x.server === "db2" && x.kind === "set-read-only")).toBe(true);
    expect(fo).toMatchObject({
      kind: "failover",
      outcome: "refused",
      trigger: "command",
      error: { code: "PRIMARY_ALIVE" },
      request: { verb: "failover", payload: { force: false, acceptLoss: false } },
      durationMs: 0,
      steps: [],
    });
    // No secret of the config in a record.
    const text = JSON.stringify(records);
    const c = stack.config.clusters[0]!;
    for (const secret of [c.admin.password, c.replication.password]) {
      if ("value" in secret) expect(text).not.toContain(secret.value);
    }
  });

  it("after a new decider took over: the same records, and what it runs is added", async () => {
    const before = await history();
    await stack.startDecider("decider-2");
    await waitFor(() => primaryIs("db2"), {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: "decider-2 leads, db2 primary",
    });
    expect(await history()).toEqual(before);

    const back = await run("switchover", "db1");
    expect(back.code, explain(back)).toBe(0);
    await waitFor(async () => (await history()).length === 3, {
      timeoutMs: 10_000,
      intervalMs: 300,
      message: "a third record",
    });
    const records = await history();
    expect(records.slice(0, 2)).toEqual(before);
    expect(records[2]).toMatchObject({
      kind: "switchover",
      outcome: "succeeded",
      decider: "decider-2",
      servers: { old: "db2", target: "db1" },
    });
    expect((await history("--limit", "1")).map((r) => r.id)).toEqual([records[2]!.id]);
    expect(await history("--since", "1ms")).toEqual([]);

    // The stream: one subject per record, kept by the config's retention.
    const info = await (await jetstreamManager(stack.nc)).streams.info("MARINA_HISTORY");
    expect(info.config).toMatchObject({
      subjects: ["marina.v1.*.history.*"],
      max_msgs_per_subject: 1,
      max_msgs: stack.config.history.maxRecords,
      max_age: stack.config.history.maxAgeDays * 24 * 3600 * 1e9,
    });
    expect(info.state.messages).toBe(3);
  });

  it("prints a table for people, and one operation's steps with --op", async () => {
    const table = await run("history");
    expect(table.code, explain(table)).toBe(0);
    const rows = table.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^ended\s+kind\s+id\s+outcome\s+by\s+servers\s+took\s+detail$/);
    expect(rows).toHaveLength(4);
    expect(rows[1]).toMatch(
      new RegExp(`switchover\\s+${switchoverId}\\s+succeeded\\s+marina-cli:\\S+\\s+db1→db2\\s`),
    );
    expect(rows[2]).toMatch(
      /failover\s+refused-\S+\s+refused\s+marina-cli:\S+\s+-\s+PRIMARY_ALIVE: /,
    );

    const one = await run("history", "--op", switchoverId);
    expect(one.code, explain(one)).toBe(0);
    expect(one.stdout).toMatch(
      new RegExp(`^switchover ${switchoverId} succeeded in (\\d+ ms|\\d+\\.\\d s)\\n`),
    );
    expect(one.stdout).toContain('  requested  switchover {"target":"db2"');
    expect(one.stdout).toMatch(/\n {2}phases {5}demote \d+ ms · /);
    expect(one.stdout).toMatch(/\nphase\s+server\s+step\s+status\s+tries\s+sent\s+took\s+error\n/);
    expect(one.stdout).toMatch(/\npromote\s+db2\s+set read_only=0\s+ok\s+\+\d+\.\d{3} s\s+\d+ ms/);

    const json = await run("--json", "history", "--op", switchoverId);
    expect((JSON.parse(json.stdout) as { record: OperationRecord }).record.id).toBe(switchoverId);
    const none = await run("history", "--op", "op-none");
    expect(none.code, explain(none)).toBe(1);
    expect(none.stderr).toBe("no record of operation op-none in cluster main\n");
    const bad = await run("history", "--op", "a.b");
    expect(bad.code, explain(bad)).toBe(2);
  });
});
