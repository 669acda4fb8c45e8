// `marina pause` / `resume` and the switchover pre-checks, as an operator runs them against a
// running Marina (lab of three mariadbd, monitor, executors, a decider): pause blocks the
// automatic failover of a kill -9ed primary — also after the decider that was paused is
// replaced by another — and resume lets it happen; a pre-check refuses with exit 3.
import { waitFor } from "@marina/lab";
import { type Stack, startStack } from "@marina/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marina, type Ran } from "./marina-process.js";

interface Status {
  primary: string | null;
  decider: string;
  operation: unknown;
  clusterSituations: string[];
  servers: { name: string; situations: string[] }[];
  paused?: { reason: string; by: string | null; held: string[] } | null;
}

describe("marina pause, resume and switchover pre-checks", () => {
  let stack: Stack;
  let env: Record<string, string>;
  const run = (...args: string[]) => marina(args, env);
  const explain = (r: Ran) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  const status = async (): Promise<Status | null> => {
    const r = await run("--json", "status");
    return r.code === 0 ? (JSON.parse(r.stdout) as Status) : null;
  };

  beforeAll(async () => {
    stack = await startStack({
      lab: { semiSync: true, nodes: 3 },
      config: { neverPromote: ["db3"] },
    });
    const operator = stack.lab.natsUsers!.operator;
    env = {
      MARINA_NATS: stack.lab.natsUrls.join(","),
      MARINA_NATS_USER: operator.user,
      MARINA_NATS_PASSWORD: operator.password,
    };
    await waitFor(async () => (await status())?.primary === "db1", {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: "db1 primary",
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("switchover pre-checks: a never-promote or in-maintenance target is refused, exit 3", async () => {
    const never = await run("switchover", "db3");
    expect(never.code, explain(never)).toBe(3);
    expect(never.stderr).toBe(
      "switchover refused: TARGET_NEVER_PROMOTE at target: switchover pre-check: db3 has neverPromote set in the config (force does not lift it): remove it from the config to promote db3\n",
    );
    expect((await run("maintenance", "set", "db2", "--reason", "disk swap")).code).toBe(0);
    const j = await run("--json", "switchover", "db2");
    expect(j.code, explain(j)).toBe(3);
    expect(JSON.parse(j.stdout)).toMatchObject({
      reply: {
        ok: false,
        verb: "switchover",
        error: { code: "TARGET_IN_MAINTENANCE", path: "target", retryable: false },
      },
    });
    expect((await run("maintenance", "clear", "db2")).code).toBe(0);
    // Nothing moved.
    expect((await status())?.primary).toBe("db1");
  });

  it("pause: shown everywhere, kept by the next decider; a killed primary is not failed over until resume", async () => {
    const p = await run("pause", "--reason", "network maintenance");
    expect(p.code, explain(p)).toBe(0);
    expect(p.stdout).toMatch(/^automation paused on main: nothing starts on its own\n$/);
    const again = await run("pause");
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^already paused: .*\(network maintenance\)/);

    const shown = await run("status");
    expect(shown.code, explain(shown)).toBe(0);
    expect(shown.stdout.split("\n")[1]).toMatch(
      /^PAUSED since .* by \S+@\S+: network maintenance — Marina starts nothing on its own \(marina resume\)$/,
    );
    const events = await run("events", "-n", "5");
    expect(events.stdout).toMatch(/ Paused\b.*network maintenance/);

    // The paused decider goes; the next one reads the pause from the state and leads paused.
    const first = stack.deciders[0]!;
    await first.app.close(true);
    await stack.startDecider("decider-2");
    await waitFor(async () => (await status())?.decider === "decider-2", {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: "decider-2 leads",
    });
    expect((await status())?.paused).toMatchObject({ reason: "network maintenance" });

    await stack.lab.node("db1").kill9();
    // Seen dead, and the failover blocked by the pause…
    await waitFor(
      async () => {
        const s = await status();
        const db1 = s?.servers.find((x) => x.name === "db1");
        return db1?.situations.includes("FailoverBlocked:paused") === true;
      },
      { timeoutMs: 30_000, intervalMs: 300, message: "db1 dead, failover blocked: paused" },
    );
    // …and it stays so: nothing starts while paused.
    await new Promise((r) => setTimeout(r, 4000));
    const held = await status();
    expect(held?.primary).toBe("db1");
    expect(held?.operation).toBeNull();
    expect(held?.paused?.held).toEqual([expect.stringMatching(/^failover of db1: /)]);
    const heldText = await run("status");
    expect(heldText.stdout).toMatch(/\n {2}held: failover of db1: /);

    const r = await run("resume", "--reason", "done");
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toBe("automation resumed on main\n");
    await waitFor(
      async () => {
        const s = await status();
        return s?.primary === "db2" && s.operation === null;
      },
      { timeoutMs: 30_000, intervalMs: 300, message: "failover to db2 after resume" },
    );
    const after = await status();
    expect(after?.paused ?? null).toBeNull();
    const ev = await run("events", "-n", "20");
    expect(ev.stdout).toMatch(/ Resumed\b.*\(done\)/);
    expect((await run("resume")).stdout).toBe("main was not paused\n");
  });

  it("pause --all: every cluster a live decider is configured with", async () => {
    const r = await run("--json", "pause", "--all");
    expect(r.code, explain(r)).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      results: [{ cluster: "main", reply: { ok: true, verb: "pause" } }],
    });
    const back = await run("resume", "--all");
    expect(back.code, explain(back)).toBe(0);
    expect(back.stdout).toBe("main: automation resumed on main\n");
  });
});
