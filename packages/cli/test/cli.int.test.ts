// `marina` as a process against a running Marina (lab of three semi-sync mariadbd, monitor,
// two executors, a decider, an agent per server), under the operator's NATS identity: the
// output and exit code of each view and command, refusals, --json, terminals and pipes.
import type { ClusterTopology } from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { type Stack, startStack } from "@marina/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marina, marinaOnTerminal, type Ran, startMarina } from "./marina-process.js";

/** An escape sequence: colour, or cursor movement. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);
/** A colour (SGR) sequence. */
const SGR = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`);

describe("marina against a running Marina", () => {
  let stack: Stack;
  let env: Record<string, string>;
  const run = (...args: string[]) => marina(args, env);
  const json = <T>(r: Ran): T => JSON.parse(r.stdout) as T;
  const explain = (r: Ran) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: true, nodes: 3 }, agents: true });
    const operator = stack.lab.natsUsers!.operator;
    env = {
      MARINA_NATS: stack.lab.natsUrls.join(","),
      MARINA_NATS_USER: operator.user,
      MARINA_NATS_PASSWORD: operator.password,
    };
    // Ready: db1 leads, and every agent has been heard.
    await waitFor(
      async () => {
        const r = await run("--json", "status");
        if (r.code !== 0) return false;
        const s = json<{ primary: string | null; agents: Record<string, number | null> }>(r);
        return s.primary === "db1" && Object.values(s.agents).every((a) => a !== null);
      },
      { timeoutMs: 30_000, intervalMs: 500, message: "db1 primary and every agent heard" },
    );
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("status: the cluster, then one row per server with its agent (exit 0)", async () => {
    const r = await run("status");
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(
      /^cluster main {2}primary db1 {2}writer db1 \(127\.0\.0\.1:\d+\) {2}leader decider-1 \(epoch \d+\)\n/,
    );
    expect(r.stdout).toContain("operation: none");
    const rows = r.stdout
      .split("\n")
      .filter((l) => /^db\d /.test(l))
      .map((l) => l.split(/\s{2,}/));
    expect(rows.map((x) => [x[0], x[1], x[2]])).toEqual([
      ["db1", "primary", "OFF"],
      ["db2", "replica", "ON"],
      ["db3", "replica", "ON"],
    ]);
    for (const x of rows) expect(x.at(-1)).toMatch(new RegExp(`^agent-${x[0]} \\d`));
    expect(r.stdout).not.toMatch(ANSI);
    expect(r.stderr).toBe("");
  });

  it("status --json: the decider's status, parseable", async () => {
    const r = await run("status", "--json");
    expect(r.code, explain(r)).toBe(0);
    const s = json<{ cluster: string; primary: string; servers: { name: string; role: string }[] }>(
      r,
    );
    expect(s.cluster).toBe("main");
    expect(s.primary).toBe("db1");
    expect(s.servers.map((x) => x.name)).toEqual(["db1", "db2", "db3"]);
  });

  it("status on a terminal: a boxed table in colour, and no colour with NO_COLOR", async () => {
    const r = await marinaOnTerminal(["status"], env);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain("┌");
    expect(r.stdout).toMatch(ANSI);
    const plain = await marinaOnTerminal(["status"], { ...env, NO_COLOR: "1" });
    expect(plain.stdout).toContain("┌");
    expect(plain.stdout).not.toMatch(SGR);
  });

  it("topology: the tree, and --json the published topology", async () => {
    const r = await run("topology");
    expect(r.code, explain(r)).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[1]).toMatch(/^db1 {2}primary /);
    expect(lines.slice(2, 4).map((l) => l.slice(0, 12))).toEqual(["|-- db2  rep", "`-- db3  rep"]);
    const t = json<ClusterTopology>(await run("topology", "--json"));
    expect(t.primary).toBe("db1");
  });

  it("a refused command: Marina's code, message and field; exit 3", async () => {
    const r = await run("switchover", "db9");
    expect(r.code, explain(r)).toBe(3);
    expect(r.stderr).toBe(
      "switchover refused: UNKNOWN_SERVER at target: db9 is not a server of cluster main\n",
    );
    expect(r.stdout).toBe("");
    const j = await run("--json", "switchover", "db9");
    expect(j.code).toBe(3);
    expect(json(j)).toEqual({
      reply: {
        ok: false,
        verb: "switchover",
        error: {
          code: "UNKNOWN_SERVER",
          message: "db9 is not a server of cluster main",
          path: "target",
          retryable: false,
        },
      },
    });
    const f = await run("failover");
    expect(f.code).toBe(3);
    expect(f.stderr).toMatch(/^failover refused: PRIMARY_ALIVE: /);
  });

  it("switchover: its phases as they happen, the outcome, exit 0", async () => {
    const r = await run("switchover", "db2", "--reason", "cli e2e");
    expect(r.code, explain(r)).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("switchover from db1 to db2 started");
    expect(lines[1]).toMatch(/^switchover \S+ {2}old=db1 target=db2$/);
    const phases = lines
      .filter((l) => /^ {2}\+ +\d+\.\d{3} s {2}/.test(l))
      .map((l) => l.trim().split(/\s+/)[3]);
    // In the order they ran; the plan's phases (switchover.ts) from demote to repoint.
    expect(phases.slice(0, 6)).toEqual([
      "start",
      "demote",
      "read-pos",
      "catch-up",
      "promote",
      "repoint",
    ]);
    expect(r.stdout).toMatch(/\nswitchover \S+ succeeded in \d+ ms: db2 is the primary/);
    expect(lines.at(-1)).toMatch(/^ {2}phases: demote \d+ ms · .* · total \d+ ms$/);
    const s = json<{ primary: string }>(await run("--json", "status"));
    expect(s.primary).toBe("db2");
  });

  it("switchover --json: one document with the reply, the phases and the outcome", async () => {
    const r = await run("--json", "switchover", "db1");
    expect(r.code, explain(r)).toBe(0);
    const doc = json<{
      reply: { ok: boolean; opId: string };
      operation: {
        state: string;
        servers: Record<string, string>;
        timings: Record<string, number>;
      };
      phases: { phase: string; state: string }[];
    }>(r);
    expect(doc.reply.ok).toBe(true);
    expect(doc.operation.state).toBe("succeeded");
    expect(doc.operation.servers).toMatchObject({ old: "db2", target: "db1" });
    expect(doc.phases.map((p) => p.phase)).toContain("promote");
    expect(doc.phases.at(-1)?.state).toBe("succeeded");

    // The same operation, read back.
    const op = await run("op", doc.reply.opId);
    expect(op.code, explain(op)).toBe(0);
    expect(op.stdout).toContain(`switchover ${doc.reply.opId} succeeded`);
    // And in the event stream, with the topologies it published.
    const all = await run("--json", "events", "--all", "-n", "200");
    expect(all.code, explain(all)).toBe(0);
    const records = all.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; payload: { opId?: string } });
    expect(records.some((x) => x.type === "operation" && x.payload.opId === doc.reply.opId)).toBe(
      true,
    );
    expect(records.some((x) => x.type === "topology")).toBe(true);
    const times = all.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { time: string }).time);
    expect([...times].sort()).toEqual(times);
  });

  it("events: the recent situations, one line each", async () => {
    const r = await run("events", "-n", "5");
    expect(r.code, explain(r)).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(r.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3}Z {2}PrimaryHealthy db\d: /m);
  });

  it("maintenance set and clear: answered at once (exit 0), shown in status", async () => {
    const set = await run("maintenance", "set", "db3", "--reason", "kernel upgrade");
    expect(set.code, explain(set)).toBe(0);
    expect((await run("status")).stdout).toContain("maintenance: db3");
    const clear = await run("maintenance", "clear", "db3");
    expect(clear.code, explain(clear)).toBe(0);
    expect(clear.stdout).toBe("db3 is out of maintenance\n");
  });

  it("rebuild of a diverged replica: phases with the transfer's progress, exit 0", async () => {
    // An errant transaction on db3, then one on the primary that db3 cannot apply after
    // it: Marina fences db3 and flags it diverged.
    await stack.lab.node("db3").query("SET GLOBAL read_only = 0");
    await stack.lab.node("db3").query("CREATE DATABASE errant");
    await stack.lab.node("db1").query("CREATE DATABASE cli_e2e");
    await waitFor(async () => (await run("--json", "status")).stdout.includes("ServerDiverged"), {
      timeoutMs: 20_000,
      intervalMs: 500,
      message: "db3 diverged",
    });
    // zstd at its slowest level: the lab's small datadir would otherwise stream in less
    // than one progress interval (250 ms), and no progress line would show.
    const r = await run("rebuild", "db3", "--compression", "zstd", "--level", "19");
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/^rebuild of db3 from db\d started\n/);
    expect(r.stdout).toMatch(/ stream {7}[\d.]+ (B|[KMG]iB) of ~[\d.]+ [KMG]iB \(\d+%\) at /);
    expect(r.stdout).toMatch(/\nrebuild \S+ succeeded in .*: db3 rebuilt from/);
  });

  it("cannot reach the deciders or NATS: exit 4, saying what to check", async () => {
    const other = await run("--cluster", "nowhere", "status");
    expect(other.code, explain(other)).toBe(4);
    expect(other.stderr).toMatch(/no decider listens on marina\.v1\.nowhere\.cmd\.status/);
    const denied = await marina(["status"], { ...env, MARINA_NATS_PASSWORD: "wrong" });
    expect(denied.code, explain(denied)).toBe(4);
    expect(denied.stderr).toMatch(/refused user marina-operator/);
  });

  it("watch without a terminal: one line per message, until Ctrl-C (exit 0)", async () => {
    const watch = startMarina(["watch"], env);
    await waitFor(() => watch.stdout().includes(" topology gen "), {
      timeoutMs: 10_000,
      message: "the topology line",
    });
    await run("maintenance", "set", "db2");
    await run("maintenance", "clear", "db2");
    await waitFor(() => watch.stdout().includes("MaintenanceSet db2"), {
      timeoutMs: 10_000,
      message: "the live event",
    });
    watch.child.kill("SIGINT");
    const r = await watch.exited;
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).not.toMatch(ANSI);
  });
});
