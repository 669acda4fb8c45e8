// Subjects only Marina should publish on, with junk on them: bytes that are not JSON, real
// messages with one field broken, and real messages re-sent on another server's or
// cluster's subject. The decider (and the sandbox's observer) skip each with a
// warning; nothing changes, and everything still works.
import { envelope, subjects } from "@marina/contracts";
import { sleep, waitFor } from "@marina/lab";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { agentHostOf, type Stack, startStack } from "../src/stack.js";
import {
  assertAlive,
  captureLog,
  deciderView,
  type LogRecord,
  serverState,
  stackSettled,
} from "./hostile-helpers.js";

type Json = Record<string, unknown> & { payload: Record<string, unknown> };

/** The next message on `subject`, as JSON. */
async function next(nc: NatsConnection, subject: string): Promise<Json> {
  const sub = nc.subscribe(subject, { max: 1 });
  for await (const m of sub) return m.json<Json>();
  throw new Error(`no message on ${subject}`);
}

const withPayload = (m: Json, over: Record<string, unknown>) =>
  JSON.stringify({ ...m, payload: { ...m.payload, ...over } });

describe("junk on Marina's own subjects", () => {
  const decider = captureLog();
  const observer = captureLog();
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    stack = await startStack({ agents: true, lab: { nodes: 3 }, log: decider.log });
    obs = observe(stack.nc, "main", undefined, observer.log);
    await stackSettled(stack);
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  const skipped = (records: LogRecord[], subject: string) =>
    records.filter((r) => r.msg === "invalid message skipped" && r.subject === subject).length;

  it("is skipped with a warning and changes nothing", async () => {
    const { nc } = stack;
    const [sample, beat, seen] = await Promise.all([
      next(nc, subjects.health("main", "db1")),
      next(nc, subjects.agentHeartbeat(agentHostOf("db2"))),
      obs.waitFor((o) => o.kind === "topology", 10_000),
    ]);
    const topology = seen.kind === "topology" ? seen.topology : undefined;
    const aTopology = (over: Record<string, unknown>) =>
      JSON.stringify(envelope("topology", "decider-1", { ...topology, ...over }));
    const from = obs.seen.length;
    const view = await deciderView(stack);
    const servers = await serverState(stack);
    const h1 = subjects.health("main", "db1");
    const a1 = (kind: "heartbeat" | "done" | "progress") => `marina.v1.agent.agent-db1.${kind}`;
    // What each subject gets, and how many the decider must skip (observer: the rest).
    const junk: [subject: string, body: string][] = [
      [h1, "}{ not json"],
      [h1, withPayload(sample, { reachable: "no" })],
      // db1's real observation (a writable primary) as db2's, on db1's subject.
      [h1, withPayload(sample, { server: "db2" })],
      [a1("heartbeat"), "[]"],
      [a1("heartbeat"), withPayload(beat, { uptimeMs: -1 })],
      [a1("heartbeat"), JSON.stringify(beat)], // agent-db2's beat on agent-db1's subject
      [a1("done"), '{"type":"agent-result"}'],
      [a1("done"), withPayload(beat, {})],
      [a1("progress"), ""],
      [a1("progress"), withPayload(beat, { phase: "streaming" })],
    ];
    const forObserver: [string, string][] = [
      [subjects.topology("main"), "\u0000\u0001"],
      [subjects.events("main"), '{"type":"event","payload":{"situation":"SplitBrainRisk"}}'],
      [subjects.op("main", "op-junk"), "null"],
      [subjects.topology("main"), aTopology({ primary: "db3; rm -rf /" })],
      [subjects.topology("main"), aTopology({ cluster: "other" })],
    ];
    for (const [subject, body] of [...junk, ...forObserver]) nc.publish(subject, body);
    await nc.flush();

    const expectSkips = (records: LogRecord[], list: [string, string][]) =>
      waitFor(
        () => list.every(([s]) => skipped(records, s) === list.filter(([x]) => x === s).length),
        {
          timeoutMs: 10_000,
          message: `a warning for each of ${list.length} messages`,
        },
      );
    await expectSkips(decider.records, junk);
    await expectSkips(observer.records, forObserver);
    await sleep(1_500); // several decider ticks: anything the junk set off would show now

    // What the observer recorded since: the decider may republish, but nothing of the junk.
    const since = obs.seen.slice(from);
    const bad = since.filter((o) => o.kind !== "topology" || o.topology.primary !== "db1");
    expect(bad).toEqual([]);
    expect(await deciderView(stack)).toEqual(view);
    expect(await serverState(stack)).toEqual(servers);
    await assertAlive(stack);
  });
});
