// `marina <verb> --dry-run` against a running Marina (lab of three mariadbd with semi-sync,
// monitor, executors, a decider): the dry-run changes nothing, and the steps it plans are the
// steps the real command then runs — read back from the operation's history record — for a
// switchover and for a rejoin.
import type { DryRunReport, OperationRecord } from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { type Stack, startStack } from "@marina/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marina, type Ran } from "./marina-process.js";

interface DryRunDoc {
  reply: { ok: true; verb: string; message: string; dryRun: DryRunReport };
}

/** `phase server kind key` per step, sorted: the order within a phase follows the answers. */
const plannedSteps = (r: DryRunReport) =>
  (r.operation?.phases ?? [])
    .flatMap((p) => p.steps.map((s) => `${p.name} ${s.server} ${s.step.kind} ${s.key}`))
    .sort();
const ranSteps = (rec: OperationRecord) =>
  rec.steps.map((s) => `${s.phase} ${s.server} ${s.kind} ${s.key}`).sort();

describe("marina --dry-run", () => {
  let stack: Stack;
  let env: Record<string, string>;
  const run = (...args: string[]) => marina(args, env);
  const explain = (r: Ran) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  const primary = async () => {
    const r = await run("--json", "status");
    return r.code === 0 ? (JSON.parse(r.stdout) as { primary: string | null }).primary : null;
  };
  const dryRun = async (...args: string[]) => {
    const r = await run("--json", ...args, "--dry-run");
    expect([0, 3], explain(r)).toContain(r.code);
    return JSON.parse(r.stdout) as DryRunDoc;
  };
  const record = async (opId: string) => {
    let rec: OperationRecord | null = null;
    await waitFor(
      async () => {
        const r = await run("--json", "history", "--op", opId);
        rec = r.code === 0 ? (JSON.parse(r.stdout) as { record: OperationRecord }).record : null;
        return rec !== null;
      },
      { timeoutMs: 15_000, intervalMs: 300, message: `history record of ${opId}` },
    );
    return rec as unknown as OperationRecord;
  };

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: true, nodes: 3 } });
    const operator = stack.lab.natsUsers!.operator;
    env = {
      MARINA_NATS: stack.lab.natsUrls.join(","),
      MARINA_NATS_USER: operator.user,
      MARINA_NATS_PASSWORD: operator.password,
    };
    await waitFor(async () => (await primary()) === "db1", {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: "db1 primary",
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("a switchover's dry-run: printed for people, changes nothing, and is what the real one runs", async () => {
    const people = await run("switchover", "db2", "--dry-run");
    expect(people.code, explain(people)).toBe(0);
    expect(people.stdout).toMatch(/^DRY RUN — nothing was done\. switchover would be accepted/);
    expect(people.stdout).toMatch(/phase 1 {2}demote {2}\(now; deadline/);
    expect(people.stdout).toContain("SET GLOBAL read_only = ON");
    expect(people.stdout).toMatch(/candidates \(ranked .*\n +1 {2}db2 +chosen /);

    const doc = await dryRun("switchover", "db2");
    const report = doc.reply.dryRun;
    expect(report).toMatchObject({ verb: "switchover", outcome: "accepted", error: null });
    const [first] = report.operation?.phases ?? [];
    expect(first).toMatchObject({ name: "demote", known: true, dependsOn: [] });
    expect(first?.steps.map((s) => `${s.server} ${s.step.kind}`)).toEqual([
      "db1 fence",
      "db1 wait-binlog-stable",
    ]);
    expect(await primary()).toBe("db1"); // nothing moved

    const real = await run("--json", "switchover", "db2");
    expect(real.code, explain(real)).toBe(0);
    const opId = (JSON.parse(real.stdout) as { reply: { opId: string } }).reply.opId;
    const rec = await record(opId);
    expect(rec.outcome).toBe("succeeded");
    // The first phase exactly, and every later phase as planned from what was known.
    const firstRan = rec.steps
      .filter((s) => s.phase === first?.name)
      .map((s) => `${s.server} ${s.kind}`);
    expect(firstRan).toEqual(first?.steps.map((s) => `${s.server} ${s.step.kind}`));
    expect(ranSteps(rec)).toEqual(plannedSteps(report));
    expect(rec.steps.every((s) => s.status === "ok")).toBe(true);
    expect(rec.phases.map((p) => p.name)).toEqual(report.operation?.phases.map((p) => p.name));
  });

  it("a rejoin's dry-run is what the real rejoin runs; a refused one exits 3", async () => {
    // Paused, so that Marina does not rejoin db3 by itself once it is detached.
    expect((await run("pause", "--reason", "dry-run e2e")).code).toBe(0);
    const refused = await run("rejoin", "db3", "--dry-run");
    expect(refused.code, explain(refused)).toBe(3);
    expect(refused.stdout).toMatch(/rejoin would be refused: NOT_APPLICABLE: .*already replicates/);

    const db3 = stack.lab.node("db3");
    await db3.query("STOP SLAVE");
    await db3.query("RESET SLAVE ALL");
    let report: DryRunReport | null = null;
    await waitFor(
      async () => {
        report = (await dryRun("rejoin", "db3")).reply.dryRun;
        return report.outcome === "accepted";
      },
      { timeoutMs: 20_000, intervalMs: 500, message: "a rejoin of the detached db3 accepted" },
    );
    const planned = report as unknown as DryRunReport;
    const [first] = planned.operation?.phases ?? [];
    expect(first).toMatchObject({ name: "fence", known: true });
    expect(
      first?.steps.map(
        (s) => `${s.server} ${s.step.kind} ${s.step.kind === "fence" ? s.step.kill : ""}`,
      ),
    ).toEqual(["db3 fence none"]);

    const real = await run("--json", "rejoin", "db3");
    expect(real.code, explain(real)).toBe(0);
    const opId = (JSON.parse(real.stdout) as { reply: { opId: string } }).reply.opId;
    const rec = await record(opId);
    expect(rec.outcome).toBe("succeeded");
    expect(
      rec.steps.filter((s) => s.phase === "fence").map((s) => `${s.server} ${s.kind}`),
    ).toEqual(["db3 fence"]);
    expect(ranSteps(rec)).toEqual(plannedSteps(planned));
    expect(rec.phases.map((p) => p.name)).toEqual(planned.operation?.phases.map((p) => p.name));
    expect((await run("resume")).code).toBe(0);
  });
});
