// No secret reaches a log line or an event: the whole stack (monitor, 2 executors, decider,
// an agent per server) logs at trace level into memory while every message on Marina's
// subjects is captured, through a switchover, a rebuild, a failover and a rejoin; then
// every NATS password, every MariaDB password and the spawned decider's output are
// searched for every secret.
import { startWriter, waitFor, writeRows } from "@marina/lab";
import { memoryLogger } from "@marina/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import { collectLines } from "./ha-helpers.js";
import { command, opEnded, status } from "./scenario-helpers.js";

describe("secrets stay out of logs and events", () => {
  let stack: Stack;
  let obs: Observer;
  let lines: string[] = [];
  const messages: string[] = [];

  beforeAll(async () => {
    const mem = memoryLogger("trace");
    lines = mem.lines;
    stack = await startStack({ lab: { semiSync: true, nodes: 3 }, agents: true, log: mem.log });
    obs = observe(stack.nc, "main");
    stack.nc.subscribe("marina.>", {
      callback: (_e, m) => {
        messages.push(m.string());
      },
    });
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("through a switchover, a rebuild, a failover and a rejoin", async () => {
    const { lab } = stack;
    const node = (n: string) => lab.node(n);
    await obs.waitFor((o) => o.kind === "topology" && o.topology.primary === "db1", 20_000, "db1");
    const ended = async (verb: "switchover" | "rebuild", body: string) => {
      const reply = await command(stack.nc, verb, body);
      expect(reply.ok, JSON.stringify(reply)).toBe(true);
      const end = await obs.waitFor(opEnded(reply.ok ? reply.opId! : ""), 120_000, verb);
      expect(end.operation.state, end.operation.message).toBe("succeeded");
    };
    // A rebuild needs every agent heard.
    await waitFor(
      async () => {
        const st = await status(stack.nc).catch(() => ({}) as Record<string, unknown>);
        const agents = Object.values((st.agents ?? {}) as Record<string, number | null>);
        return agents.length === 3 && agents.every((a) => a !== null) ? true : undefined;
      },
      { timeoutMs: 30_000, message: "every agent heard" },
    );
    await ended("switchover", '{"target":"db2"}');

    // An errant write on db3, which is then rebuilt by the agents (backup account, streams).
    await node("db3").query("SET GLOBAL read_only = 0");
    await node("db3").query("CREATE TABLE app.errant (i INT PRIMARY KEY) ENGINE=InnoDB");
    await node("db3").query("INSERT INTO app.errant VALUES (1)");
    await writeRows(node("db2"), 5);
    await obs.waitFor(
      (o) =>
        o.kind === "event" && o.event.situation === "ServerDiverged" && o.event.server === "db3",
      30_000,
      "db3 diverged",
    );
    await ended("rebuild", '{"target":"db3"}');

    // kill -9 of the primary, then it comes back and rejoins.
    const writer = await startWriter(() => node("db2"), { intervalMs: 20 });
    await writer.waitForAcks(10);
    await node("db2").kill9();
    // The failover's end, not any topology without db2: the observer keeps what it saw, and
    // db1 was the primary before the switchover. (Restarting db2 while the failover runs
    // would have its agent kill it again: STONITH before the promotion.)
    await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.kind === "failover" &&
        o.operation.state !== "running",
      30_000,
      "the failover's end",
    );
    await writer.stop();
    await node("db2").start();
    // Killed mid-commit it may hold a transaction nobody got: then flagged, not rejoined.
    await obs.waitFor(
      (o) =>
        (o.kind === "operation" &&
          o.operation.kind === "rejoin" &&
          o.operation.servers.server === "db2" &&
          o.operation.state !== "running") ||
        (o.kind === "event" &&
          o.event.situation === "OldPrimaryDiverged" &&
          o.event.server === "db2"),
      60_000,
      "db2 rejoined or flagged diverged",
    );

    // A decider as its own process too: its stdout is a log like any other.
    const child = stack.spawnDecider("decider-proc", ["--lease-ttl-ms", "3000"]);
    const out = collectLines(child);
    await out.waitFor((l) => l.json?.msg === "decider started", 30_000, "the spawned decider");
    child.kill("SIGTERM");

    const users = lab.natsUsers!;
    const secrets: Array<[string, string]> = [
      ...Object.entries(users).map(([role, u]) => [`NATS ${role}`, u.password] as [string, string]),
      ["MariaDB marina", lab.credentials.marina.password],
      ["MariaDB marina_monitor", lab.credentials.monitor.password],
      ["MariaDB marina_backup", lab.credentials.backup.password],
      ["MariaDB repl", lab.credentials.repl.password],
      ["MariaDB app", lab.credentials.app.password],
    ];
    const corpus: Array<[string, string[]]> = [
      ["log lines", lines],
      ["events", messages],
      ["the spawned decider's output", out.lines.map((l) => l.text)],
    ];
    // Not a silent logger: the run logged and published plenty.
    expect(lines.length).toBeGreaterThan(50);
    expect(messages.length).toBeGreaterThan(20);
    const leaks: string[] = [];
    for (const [what, texts] of corpus) {
      for (const [name, secret] of secrets) {
        const hit = texts.find((t) => t.includes(secret));
        if (hit) leaks.push(`${name} in ${what}: ${hit.slice(0, 300)}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
