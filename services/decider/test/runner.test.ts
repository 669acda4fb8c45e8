// The decider's loop against an in-memory bus and store, with the real (pure) core: what
// comes in becomes inputs, decisions are persisted before they are acted on, replies go
// out before operation events, and a decider that lost its epoch publishes nothing.
import { envelope, type ServerObservation, subjects } from "@marina/contracts";
import type { DeciderState } from "@marina/decider-core";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterRunner, type RecordedInput } from "../src/cluster-runner.js";
import { agentCallOf } from "../src/inbound.js";
import { FakeBus } from "./fake-bus.js";
import { cluster as config, FakeStore, healthy, sample, T0 } from "./fixtures.js";

const runners: ClusterRunner[] = [];
afterEach(async () => {
  for (const r of runners.splice(0)) await r.close();
});

async function setup(o: { leader: boolean }) {
  const bus = new FakeBus();
  const store = new FakeStore(bus.timeline);
  const lease = { leader: o.leader, epoch: 1 };
  const records: RecordedInput[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => void logs.push(JSON.parse(l)) });
  const runner = new ClusterRunner({
    bus,
    config,
    lease,
    store,
    id: "decider-t",
    log,
    now: () => T0,
    tickMs: 3_600_000, // no ticks: every input comes from the test
    record: (line) => records.push(line),
  });
  runners.push(runner);
  runner.start();
  if (o.leader) await runner.onLeadership(true, 1);
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      await runner.whenIdle();
    }
  };
  const health = async (server: string, o: ServerObservation) => {
    bus.send(subjects.health("main", server), envelope("health", "monitor/m1", sample(server, o)));
    await settle();
  };
  const round = async () => {
    for (const [server, o] of Object.entries(healthy)) await health(server, o);
  };
  await settle();
  return { bus, store, lease, records, logs, runner, settle, health, round };
}

type Setup = Awaited<ReturnType<typeof setup>>;

const cmdSubject = (verb: string) => `marina.v1.main.cmd.${verb}`;
const kinds = (s: Setup) => s.records.map((r) => r.input.kind);
const opEvents = (s: Setup) => s.bus.published.filter((p) => p.subject.includes(".op."));
const execRequests = (s: Setup) =>
  s.bus.requests.filter((r) => r.subject === subjects.exec("main"));

/** An executor that takes steps and never answers; `onStep` sees each request. */
function silentExecutor(s: Setup, onStep: (payload: { opId: string }) => void = () => {}) {
  s.bus.subscribe(subjects.exec("main"), (m) => {
    onStep(JSON.parse(new TextDecoder().decode(m.data)).payload);
  });
}

describe("inbound messages", () => {
  it("a health sample leads to decide() and the leader publishes the topology", async () => {
    const s = await setup({ leader: true });
    await s.round();
    expect(kinds(s)).toEqual(["resume", "health", "health"]);
    const topologies = s.bus.publishedOn(subjects.topology("main"));
    expect(topologies.at(-1)).toMatchObject({
      type: "topology",
      source: "decider-t",
      payload: { primary: "db1" },
    });
  });

  it("skips invalid messages and agents of other clusters without deciding", async () => {
    const s = await setup({ leader: true });
    const before = s.records.length;
    s.bus.send(subjects.health("main", "db1"), "}{");
    // valid, but the subject names another server than the sample
    s.bus.send(
      subjects.health("main", "db2"),
      envelope("health", "monitor/m1", sample("db1", healthy.db1!)),
    );
    s.bus.send(subjects.health("main", "db1"), { type: "health", payload: { server: 1 } });
    await s.settle();
    expect(s.records.length).toBe(before);
    expect(s.logs.filter((l) => l.msg === "invalid message skipped")).toHaveLength(3);
    expect(s.bus.published).toEqual([]);
  });

  it("answers an invalid command itself, naming the field, without deciding", async () => {
    const s = await setup({ leader: false });
    const reply = await s.bus.ask(cmdSubject("rejoin"), { server: "../etc" });
    expect(reply).toMatchObject({ payload: { ok: false, error: { path: "server" } } });
    expect(s.bus.requests).toEqual([]);
    expect(kinds(s)).toEqual([]);
  });
});

describe("agent messages", () => {
  const beat = (host: string) =>
    envelope("agent-heartbeat", `agent/${host}`, {
      host,
      agentVersion: "0.1.0",
      uptimeMs: 1000,
      servers: [{ name: "db2", datadir: "/tmp/db2", mariadbdRunning: true, pid: 100 }],
      tools: {},
      busy: [],
    });
  const done = (host: string, opId: string) =>
    envelope("agent-result", `agent/${host}`, {
      host,
      opId,
      ok: true,
      durationMs: 1,
      data: {},
      error: null,
    });

  it("takes heartbeats of the cluster's agent hosts only", async () => {
    const s = await setup({ leader: true });
    s.bus.send(subjects.agentHeartbeat("host2"), beat("host2"));
    s.bus.send(subjects.agentHeartbeat("elsewhere"), beat("elsewhere"));
    await s.settle();
    expect(kinds(s)).toEqual(["resume", "agent-heartbeat"]);
    expect(s.logs.filter((l) => l.msg === "invalid message skipped")).toEqual([]);
  });

  it("ignores results that are not of a call of the running operation", async () => {
    const s = await setup({ leader: true });
    s.bus.send(subjects.agentDone("host2"), done("host2", "op-x-rebuild"));
    await s.settle();
    expect(kinds(s)).toEqual(["resume"]);
  });

  it("finds the call of the running operation a result belongs to", () => {
    const state = {
      operation: { opId: "op-1", agentCalls: [{ id: "op-1-copy", host: "host2", key: "copy" }] },
    } as unknown as DeciderState;
    expect(agentCallOf(state, "host2", "op-1-copy")).toEqual({ opId: "op-1", key: "copy" });
    expect(agentCallOf(state, "host3", "op-1-copy")).toBeUndefined();
    expect(agentCallOf(state, "host2", "op-1-other")).toBeUndefined();
  });
});

describe("commands on a follower", () => {
  it("are forwarded to the leader subject and the leader's answer relayed", async () => {
    const s = await setup({ leader: false });
    const answer = { type: "command-reply", payload: { ok: true, verb: "status" } };
    s.bus.subscribe(subjects.leaderCmd("main", "*"), (m) => m.respond(JSON.stringify(answer)));
    expect(await s.bus.ask(cmdSubject("status"), {})).toEqual(answer);
    expect(s.bus.requests.map((r) => r.subject)).toEqual([subjects.leaderCmd("main", "status")]);
    expect(kinds(s)).toEqual([]);
  });

  it("are refused with NOT_LEADER when no leader answers", async () => {
    const s = await setup({ leader: false });
    const reply = await s.bus.ask(cmdSubject("status"), {});
    expect(reply).toMatchObject({ payload: { ok: false, error: { code: "NOT_LEADER" } } });
  });

  it("a leader answers through its own core, and also on the leader subject", async () => {
    const s = await setup({ leader: true });
    await s.round();
    for (const subject of [cmdSubject("status"), subjects.leaderCmd("main", "status")]) {
      const reply = await s.bus.ask(subject, {});
      expect(reply).toMatchObject({ source: "decider-t", payload: { ok: true, verb: "status" } });
    }
    expect(s.bus.requests).toEqual([]);
  });
});

describe("a leader's decisions", () => {
  it("are persisted before the steps they ask for are sent", async () => {
    const s = await setup({ leader: true });
    await s.round();
    const persistedOps: (string | undefined)[] = [];
    silentExecutor(s, () => persistedOps.push(s.store.saved.at(-1)?.operation?.opId));
    const reply = (await s.bus.ask(cmdSubject("switchover"), { target: "db2" })) as {
      payload: { ok: boolean; opId: string };
    };
    await s.settle();
    expect(reply.payload).toMatchObject({ ok: true });
    expect(execRequests(s).length).toBeGreaterThan(0);
    expect(persistedOps).toEqual(execRequests(s).map(() => reply.payload.opId));
  });

  it("are answered before anything about the operation is published", async () => {
    const s = await setup({ leader: true });
    await s.round();
    silentExecutor(s);
    await s.bus.ask(cmdSubject("switchover"), { target: "db2" });
    await s.settle();
    const t = s.bus.timeline;
    const replied = t.indexOf(`reply ${cmdSubject("switchover")}`);
    const firstOp = t.findIndex((e) => e.startsWith("publish marina.v1.main.op."));
    const firstStep = t.indexOf(`request ${subjects.exec("main")}`);
    expect(replied).toBeGreaterThan(t.lastIndexOf("save", firstOp));
    expect(firstOp).toBeGreaterThan(replied);
    expect(firstStep).toBeGreaterThan(replied);
  });

  it("are withheld, all but the reply, when they cannot be persisted", async () => {
    const s = await setup({ leader: true });
    await s.round();
    silentExecutor(s);
    const published = s.bus.published.length;
    s.store.fail = true;
    const reply = await s.bus.ask(cmdSubject("switchover"), { target: "db2" });
    await s.settle();
    expect(reply).toMatchObject({ payload: { ok: true } });
    expect(s.bus.published.length).toBe(published);
    expect(execRequests(s)).toEqual([]);
    expect(s.logs.some((l) => l.msg === "could not persist decider state; actions withheld")).toBe(
      true,
    );
  });

  it("a leader whose refused write finds its own landed write adopts it and acts", async () => {
    const s = await setup({ leader: true });
    await s.round();
    silentExecutor(s);
    s.store.staleRevision = true;
    const reply = await s.bus.ask(cmdSubject("switchover"), { target: "db2" });
    await s.settle();
    expect(reply).toMatchObject({ payload: { ok: true } });
    expect(s.store.adoptions).toBe(1);
    expect(execRequests(s).length).toBeGreaterThan(0);
  });

  it("a refused write that is a successor's is not adopted: actions withheld", async () => {
    const s = await setup({ leader: true });
    await s.round();
    silentExecutor(s);
    s.store.staleRevision = true;
    s.store.ownWriteLanded = false;
    await s.bus.ask(cmdSubject("switchover"), { target: "db2" });
    await s.settle();
    expect(s.store.adoptions).toBeGreaterThan(0);
    expect(execRequests(s)).toEqual([]);
  });

  it("a follower never adopts over a refused write", async () => {
    const s = await setup({ leader: true });
    await s.round();
    silentExecutor(s);
    s.lease.leader = false;
    s.store.staleRevision = true;
    await s.round();
    expect(s.store.adoptions).toBe(0);
  });

  type LeaseView = { leader: boolean; epoch: number };
  const lapse = (l: LeaseView) => {
    l.leader = false;
  };
  const laterEpoch = (l: LeaseView) => {
    l.epoch = 2;
  };
  it.each([
    ["the lease lapses", lapse],
    ["a later epoch is held", laterEpoch],
  ])("publish nothing in the old epoch's name when %s while persisting", async (_name, lose) => {
    const s = await setup({ leader: true });
    await s.round();
    silentExecutor(s);
    let open = () => {};
    s.store.gate = new Promise<void>((r) => {
      open = r;
    });
    const published = s.bus.published.length;
    const replied = s.bus.ask(cmdSubject("switchover"), { target: "db2" });
    while (s.store.pending === 0) await new Promise((r) => setImmediate(r));
    lose(s.lease);
    open();
    expect(await replied).toMatchObject({ payload: { ok: true } });
    await s.settle();
    expect(s.bus.published.length).toBe(published);
    expect(opEvents(s)).toEqual([]);
    expect(execRequests(s)).toEqual([]);
  });
});

describe("leadership", () => {
  it("a new leader resumes from the persisted decisions and takes forwarded commands", async () => {
    const s = await setup({ leader: false });
    expect(s.bus.listens(subjects.leaderCmd("main", "status"))).toBe(false);
    s.store.persisted = { ...s.runner.state, primary: "db1" };
    s.lease.leader = true;
    await s.runner.onLeadership(true, 1);
    await s.settle();
    expect(s.runner.state.primary).toBe("db1");
    expect(kinds(s)).toEqual(["resume"]);
    expect(s.bus.listens(subjects.leaderCmd("main", "status"))).toBe(true);
    s.lease.leader = false;
    await s.runner.onLeadership(false, 1);
    expect(s.bus.listens(subjects.leaderCmd("main", "status"))).toBe(false);
  });
});
