// clusters[].saveBinlogs: when a diverged server's extra transactions are saved (one
// save-binlogs step per divergence, while it is reachable; retried after a failure, at
// most SAVE_ATTEMPTS times), and what the events say.
import { type AgentHeartbeat, parseGtidList, type ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { forkPointOf, SAVE_ATTEMPTS } from "../src/save-binlogs.js";
import {
  agentsIn,
  Driver,
  eventsIn,
  healthyObservations,
  makeConfig,
  okResult,
  stepsIn,
  T0,
} from "./helpers.js";
import { World } from "./world.js";

function setup(saveBinlogs?: Record<string, unknown>) {
  const config = makeConfig(saveBinlogs ? { saveBinlogs } : {});
  const d = new Driver(config);
  const w = new World(config, T0);
  const cycle = (ms = 500, intercept?: Parameters<World["serve"]>[2]) => {
    d.advance(ms);
    w.advance(ms);
    const a = w.observe(d);
    return [...a, ...w.serve(d, a, intercept)];
  };
  cycle(0);
  /** db1 commits what nobody gets, dies, db2 takes over and writes, db1 returns. */
  const diverge = (intercept?: Parameters<World["serve"]>[2]) => {
    w.write("db1", 3);
    w.flow();
    w.write("db1", 1);
    const extra = w.s("db1").applied.at(-1)!;
    w.kill("db1");
    cycle();
    w.write("db2", 5);
    w.flow();
    w.restart("db1", false);
    return { extra, actions: cycle(500, intercept) };
  };
  return { d, w, cycle, diverge };
}

const saves = (actions: ReturnType<ReturnType<typeof setup>["cycle"]>) =>
  stepsIn(actions).filter((s) => s.request.step.kind === "save-binlogs");

describe("saving a diverged server's binlogs", () => {
  it("sends nothing when saveBinlogs is not configured", () => {
    const { cycle, diverge } = setup();
    const { actions } = diverge();
    expect(eventsIn(actions).map((e) => e.situation)).toContain("OldPrimaryDiverged");
    expect(saves([...actions, ...cycle(), ...cycle(6000)])).toEqual([]);
  });

  it("sends one save from the fork point, reports BinlogsSaved, and never sends it again", () => {
    const { d, cycle, diverge } = setup({ dir: "/var/lib/marina/saved" });
    const { extra, actions } = diverge();
    const sent = saves(actions);
    expect(sent).toHaveLength(1);
    const step = sent[0]!.request.step;
    expect(sent[0]!.request.server).toBe("db1");
    // db2 has db1's writes up to the fork: the last of them is the fork point.
    const [x] = parseGtidList(extra);
    expect(step).toEqual({
      kind: "save-binlogs",
      extraGtids: extra,
      forkPoint: `0-${x!.server}-${x!.seq - 1n}`,
      timeoutMs: 300_000,
    });
    // The reply waits for the step's own timeout (plus the margin).
    expect(sent[0]!.timeoutMs).toBeGreaterThan(300_000);
    const ev = eventsIn(actions).find((e) => e.situation === "BinlogsSaved");
    expect(ev).toMatchObject({ server: "db1", extraGtids: extra, actionable: false });
    expect(ev?.details).toMatchObject({
      path: expect.stringMatching(/^\/saved\/main-db1-/),
      files: "binlog.000002",
      sizes: "900",
      bytes: 900,
      decoded: "extra-transactions.sql",
      decodedFrom: "fork",
      complete: true,
    });
    expect(d.state.binlogSaves?.db1).toMatchObject({ extraGtids: extra, pending: false });
    expect(saves([...cycle(), ...cycle(10_000), ...cycle(60_000)])).toEqual([]);
  });

  it("reports a failure, tries again after enforceRetryMs, at most SAVE_ATTEMPTS times", () => {
    const { cycle, diverge } = setup({ dir: "/var/lib/marina/saved" });
    const failing: Parameters<World["serve"]>[2] = (req, r) =>
      req.step.kind === "save-binlogs"
        ? {
            ...r,
            ok: false,
            data: {},
            error: { code: "TOOL_FAILED", message: "mariadb-binlog: exit 1", retryable: false },
          }
        : r;
    const { actions } = diverge(failing);
    expect(saves(actions)).toHaveLength(1);
    const failed = eventsIn(actions).find((e) => e.situation === "BinlogSaveFailed");
    expect(failed?.reason).toMatch(/attempt 1 of 3, tried again\): TOOL_FAILED/);
    // Not again before enforceRetryMs (5 s by default)…
    expect(saves(cycle(500, failing))).toEqual([]);
    const later: ReturnType<typeof cycle> = [];
    for (let i = 0; i < 10; i++) later.push(...cycle(6000, failing));
    // …then twice more, and no more.
    expect(saves(later)).toHaveLength(SAVE_ATTEMPTS - 1);
    expect(
      eventsIn(later)
        .filter((e) => e.situation === "BinlogSaveFailed")
        .at(-1)?.reason,
    ).toMatch(/attempt 3 of 3\)/);
  });

  it("waits for an answer, then for the server: a lost save is sent again once it is reachable", () => {
    const { w, cycle, diverge } = setup({ dir: "/var/lib/marina/saved", timeoutMs: 10_000 });
    const { actions } = diverge((req, r) => (req.step.kind === "save-binlogs" ? null : r));
    expect(saves(actions)).toHaveLength(1);
    w.kill("db1");
    // Pending: nothing more is sent within its reply timeout…
    expect(saves([...cycle(6000), ...cycle(6000)])).toEqual([]);
    // …nor past it while db1 is down…
    expect(saves([...cycle(6000), ...cycle(6000)])).toEqual([]);
    // …and once it is back, the save is sent again.
    w.restart("db1", true);
    const back = [...cycle(), ...cycle()];
    expect(saves(back)).toHaveLength(1);
    expect(eventsIn(back).map((e) => e.situation)).toContain("BinlogsSaved");
  });
});

describe("forkPointOf", () => {
  const h = (t: string) => parseGtidList(t);
  it.each([
    // The primary has the same server's earlier GTIDs: the last of them.
    ["0-1-105", "0-1-100,0-2-130", "0-1-100"],
    // Several domains: each its own.
    ["0-1-105,1-1-7", "0-1-100,1-1-5,1-2-9", "0-1-100,1-1-5"],
    // Nothing of that server in the domain: left out (from the first file).
    ["0-3-101", "0-1-100", ""],
    ["0-1-5", "", ""],
  ])("extra %s, primary history %s → %s", (extra, history, fork) => {
    expect(forkPointOf(extra, h(history))).toBe(fork);
  });
});

describe("a replica with errant transactions, and failover.autoRebuild", () => {
  const errant = (o: ServerObservation): ServerObservation => ({
    ...o,
    readOnly: true,
    gtidBinlogPos: "0-3-101",
    gtidCurrentPos: "0-3-101",
  });
  const beat = (n: number): AgentHeartbeat => ({
    host: `h${n}`,
    agentVersion: "0.1.0",
    uptimeMs: 1000,
    servers: [{ name: `db${n}`, datadir: `/tmp/db${n}`, mariadbdRunning: true, pid: 100 }],
    tools: {},
    busy: [],
  });
  function cluster(saveBinlogs?: Record<string, unknown>) {
    const base = makeConfig({
      servers: [
        { name: "db1", agentHost: "h1" },
        { name: "db2", agentHost: "h2" },
        { name: "db3", agentHost: "h3" },
      ],
      ...(saveBinlogs ? { saveBinlogs } : {}),
    });
    const d = new Driver({ ...base, failover: { ...base.failover, autoRebuild: true } });
    const healthy = healthyObservations(d.config);
    for (const n of [1, 2, 3]) d.feed({ kind: "agent-heartbeat", heartbeat: beat(n) });
    d.round(healthy);
    return { d, healthy };
  }

  it("without saveBinlogs, the rebuild starts at once", () => {
    const { d, healthy } = cluster();
    const out = d.round({ db3: errant(healthy.db3!) });
    expect(agentsIn(out)).toHaveLength(1);
    expect(saves(out)).toEqual([]);
  });

  it("with it, the errant replica is saved from its first file, then rebuilt", () => {
    const { d, healthy } = cluster({ dir: "/saved" });
    const out = d.round({ db3: errant(healthy.db3!) });
    expect(agentsIn(out)).toEqual([]);
    const [save] = saves(out);
    // The primary has nothing of server 3 in domain 0: no fork point, every file.
    expect(save?.request).toMatchObject({
      server: "db3",
      step: { kind: "save-binlogs", extraGtids: "0-3-101", forkPoint: "" },
    });
    // Still waiting for the save's answer: no rebuild, no second save.
    d.advance(500);
    const waiting = d.round({ db3: errant(healthy.db3!) });
    expect(agentsIn(waiting)).toEqual([]);
    expect(saves(waiting)).toEqual([]);
    const done = d.result(save!, okResult(save!.request.stepId, savedOutcome("db3")));
    expect(eventsIn(done).map((e) => e.situation)).toContain("BinlogsSaved");
    // Saved: the rebuild starts at once.
    expect(agentsIn(done)).toHaveLength(1);
    expect(d.state.operation?.kind).toBe("rebuild");
    d.advance(500);
    expect(saves(d.round({ db3: errant(healthy.db3!) }))).toEqual([]);
  });
});

function savedOutcome(server: string) {
  return {
    path: `/saved/main-${server}-x`,
    files: [{ name: "binlog.000001", bytes: 100 }],
    decoded: { name: "extra-transactions.sql", bytes: 10 },
    decodedFrom: "files",
    extraGtids: "0-3-101",
    gtids: { count: 1, first: "0-3-101", last: "0-3-101" },
    startPosition: "",
    complete: true,
    executor: "sim",
  };
}
