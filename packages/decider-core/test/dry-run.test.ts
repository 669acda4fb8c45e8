// Dry-run (dry-run/): every command with `dryRun: true` is answered with what it would do now
// — the refusal the real command gets, or the plan its own handler and the operation engine
// build — and nothing changes: the state is the same, the reply is the only action.
import { type CommandReply, DryRunReport, type ServerObservation } from "@marina/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { upgradeState } from "../src/state.js";
import type { Action } from "../src/types.js";
import {
  conn,
  Driver,
  execute,
  healthyObservations,
  heartbeat,
  makeConfig,
  okResult,
  repliesIn,
  stepsIn,
} from "./helpers.js";

type Obs = Record<string, ServerObservation | null>;
type Verb = Parameters<Driver["command"]>[0];

const AGENTS = [
  { name: "db1", agentHost: "h1" },
  { name: "db2", agentHost: "h2" },
  { name: "db3", agentHost: "h3" },
];

/** db1 primary, db2 and db3 replicas at 0-1-100, every server with a live agent. */
function cluster(over: Parameters<typeof makeConfig>[0] = {}) {
  const config = makeConfig({ servers: AGENTS, ...over });
  const d = new Driver(config);
  const healthy: Obs = healthyObservations(config);
  for (const s of config.servers) {
    if (s.agentHost)
      d.feed({ kind: "agent-heartbeat", heartbeat: heartbeat(s.agentHost, s.name, true) });
  }
  d.round(healthy);
  return { d, config, healthy };
}

/** The dry-run of `verb`; checks that it changed nothing and sent nothing but the reply. */
function dryRun(d: Driver, verb: Verb, payload: Record<string, unknown> = {}) {
  const before = JSON.stringify(upgradeState(JSON.parse(JSON.stringify(d.state))));
  const actions = d.command(verb, { ...payload, dryRun: true });
  expect(actions.map((a) => a.kind)).toEqual(["reply"]);
  expect(JSON.stringify(d.state)).toBe(before);
  const reply = repliesIn(actions)[0] as Extract<CommandReply, { ok: true }>;
  expect(reply).toMatchObject({ ok: true, verb, message: /^dry run, nothing done: / });
  return reply.dryRun as DryRunReport;
}

/** Each phase as `name: server kind, …` (known phases marked with `*`). */
function outline(r: DryRunReport): string[] {
  return (r.operation?.phases ?? []).map(
    (p) =>
      `${p.known ? "*" : ""}${p.name}: ${[
        ...p.steps.map((s) => `${s.server} ${s.step.kind}`),
        ...p.agentCalls.map((c) => `${c.host} ${c.action.action}`),
      ].join(", ")}`,
  );
}

interface Case {
  what: string;
  verb: Verb;
  payload?: Record<string, unknown>;
  /** Changes before the dry-run. */
  setup?: (c: ReturnType<typeof cluster>) => void;
  code?: string;
  message?: RegExp;
  phases?: string[];
  end?: "succeeded" | "failed" | "cancelled";
  ranking?: [string, number | null][];
  events?: string[];
}

/** db3 applied a transaction of its own (0-3-101) that db1 never had: ServerDiverged. */
function errant(o: ServerObservation): ServerObservation {
  return { ...o, readOnly: true, gtidBinlogPos: "0-3-101", gtidCurrentPos: "0-3-101" };
}

const pausedWithDeadPrimary = ({ d, config, healthy }: ReturnType<typeof cluster>) => {
  d.command("pause", { reason: "test" });
  d.advance(500);
  d.health("db1", null);
  for (const s of ["db2", "db3"]) {
    d.health(s, {
      ...healthy[s]!,
      replication: [
        conn(config, "db1", {
          gtidIoPos: s === "db2" ? "0-1-100" : "0-1-99",
          ioThread: "Connecting",
          secondsBehindMaster: null,
        }),
      ],
    });
  }
};

const cases: Case[] = [
  {
    what: "failover of a healthy primary: refused as the real one is",
    verb: "failover",
    code: "PRIMARY_ALIVE",
    message: /db1 is not confirmed failed/,
    ranking: [
      ["db2", 1],
      ["db3", 2],
    ],
  },
  {
    what: "a forced failover: fence first, the rest planned on assumed inspections",
    verb: "failover",
    payload: { force: true },
    phases: [
      "*fence: db1 fence",
      "inspect: db2 inspect, db3 inspect",
      "drain: db2 drain-relay-log",
      "detach: db2 stop-replication, db3 stop-replication",
      "promote: db2 reset-replication, db2 set-read-only",
      "repoint: db3 stop-replication, db3 change-master, db3 start-replication, db3 verify-replicating",
    ],
    end: "succeeded",
  },
  {
    what: "failover of a dead primary (automation paused): inspections now, db2 ranked first",
    verb: "failover",
    setup: pausedWithDeadPrimary,
    phases: [
      "*inspect: db2 inspect, db3 inspect",
      "drain: db2 drain-relay-log",
      "detach: db2 stop-replication, db3 stop-replication",
      "stonith: h1 kill-server",
      "promote: db2 reset-replication, db2 set-read-only",
      "repoint: db3 stop-replication, db3 change-master, db3 start-replication, db3 verify-replicating",
    ],
    end: "succeeded",
    ranking: [
      ["db2", 1],
      ["db3", 2],
    ],
  },
  {
    what: "a switchover: demote now, catch-up on db1's position read later",
    verb: "switchover",
    payload: { target: "db2" },
    phases: [
      "*demote: db1 fence, db1 wait-binlog-stable",
      "read-pos: db1 inspect",
      "catch-up: db2 wait-gtid",
      "promote: db2 stop-replication, db2 reset-replication, db2 set-read-only",
      "repoint: db1 set-semi-sync, db1 set-gtid-slave-pos, db1 change-master, db1 start-replication, db1 verify-replicating, db3 stop-replication, db3 set-semi-sync, db3 change-master, db3 start-replication, db3 verify-replicating",
    ],
    end: "succeeded",
    ranking: [
      ["db2", 1],
      ["db3", 2],
    ],
  },
  {
    what: "a switchover to a target in maintenance: the pre-check's refusal",
    verb: "switchover",
    payload: { target: "db3" },
    setup: ({ d }) => d.command("set-maintenance", { server: "db3", reason: "kernel" }),
    code: "TARGET_IN_MAINTENANCE",
    ranking: [
      ["db2", 1],
      ["db3", null],
    ],
  },
  {
    what: "a switchover while the primary runs a long transaction",
    verb: "switchover",
    setup: ({ d, healthy }) => d.health("db1", { ...healthy.db1!, oldestTransactionSeconds: 61 }),
    code: "LONG_TRANSACTION",
    message: /db1 has a transaction open for 61 s, beyond switchover.maxTransactionSeconds 60/,
  },
  {
    what: "a rejoin of a detached replica: fence now (readers kept), attach after the compare",
    verb: "rejoin",
    payload: { server: "db3" },
    setup: ({ d, healthy }) =>
      d.health("db3", { ...healthy.db3!, replication: [], gtidSlavePos: "" }),
    phases: [
      "*fence: db3 fence",
      "inspect: db3 inspect, db1 inspect",
      "prepare: db3 set-semi-sync, db3 stop-replication, db3 set-gtid-slave-pos",
      "attach: db3 change-master, db3 start-replication, db3 verify-replicating",
    ],
    end: "succeeded",
  },
  {
    what: "a rejoin of a diverged server: refused, the divergence it would flag listed",
    verb: "rejoin",
    payload: { server: "db3" },
    setup: ({ d, healthy }) =>
      d.health("db3", {
        ...healthy.db3!,
        replication: [],
        gtidBinlogPos: "0-3-7",
        gtidCurrentPos: "0-3-7",
      }),
    code: "NOT_APPLICABLE",
    message: /0-3-7 that the primary lacks/,
    events: ["ServerDiverged db3"],
  },
  {
    what: "a rebuild: the target's agent listens now; send, stream and attach follow",
    verb: "rebuild",
    payload: { target: "db3", source: "db2" },
    setup: ({ d, healthy }) => d.health("db3", errant(healthy.db3!)),
    phases: [
      "*receive: h3 receive-backup",
      "send: h2 send-backup",
      "stream: ",
      "attach: db3 set-read-only, db3 set-semi-sync, db3 reset-replication, db3 set-gtid-slave-pos, db3 change-master, db3 start-replication, db3 verify-replicating",
    ],
    end: "succeeded",
  },
  {
    what: "a rebuild of the primary: refused",
    verb: "rebuild",
    payload: { target: "db1" },
    code: "REFUSED",
  },
  {
    what: "set-maintenance: accepted, nothing to run",
    verb: "set-maintenance",
    payload: { server: "db3" },
    message: /db3 is in maintenance/,
  },
  {
    what: "clear-maintenance of a server not in maintenance",
    verb: "clear-maintenance",
    payload: { server: "db3" },
    message: /db3 was not in maintenance/,
  },
  {
    what: "reset-failover-limits",
    verb: "reset-failover-limits",
    message: /0 failovers forgotten/,
  },
  {
    what: "pause: the event it would publish",
    verb: "pause",
    payload: { reason: "network work" },
    message: /automation paused on main/,
    events: ["Paused -"],
  },
  {
    what: "resume of a cluster that is not paused",
    verb: "resume",
    message: /main was not paused/,
  },
  {
    what: "cancel of no running operation",
    verb: "cancel",
    payload: { opId: "op9" },
    code: "NOT_APPLICABLE",
  },
  {
    what: "cancel of a switchover in its demotion: the undo it would send",
    verb: "cancel",
    payload: { opId: "op1" },
    setup: ({ d }) => {
      d.command("pause", {});
      d.command("switchover", { target: "db2" }, "r0");
    },
    phases: ["*undo: db1 set-read-only"],
    end: "cancelled",
  },
];

describe("dry-run, every verb", () => {
  it.each(cases)("$what", (c) => {
    const world = cluster();
    c.setup?.(world);
    const r = dryRun(world.d, c.verb, c.payload);
    expect(r.verb).toBe(c.verb);
    if (c.code) {
      expect(r).toMatchObject({ outcome: "refused", error: { code: c.code }, operation: null });
    } else {
      expect(r).toMatchObject({ outcome: "accepted", error: null });
    }
    if (c.message) expect(r.message).toMatch(c.message);
    if (c.phases) {
      expect(outline(r)).toEqual(c.phases);
      expect(r.operation?.end?.state).toBe(c.end);
      // Later phases say what they were built on; the first is exactly what is sent now.
      const [first, ...later] = r.operation?.phases ?? [];
      expect(first?.dependsOn).toEqual([]);
      for (const p of later) expect(p.known).toBe(false);
      expect(r.assumptions.length).toBeGreaterThan(0);
    } else if (!c.code) {
      expect(r.operation).toBeNull();
    }
    if (c.ranking) {
      expect(r.candidates?.map((x) => [x.server, x.rank])).toEqual(c.ranking);
      for (const x of r.candidates ?? []) expect(x.reason).not.toBe("");
    }
    if (c.events) {
      expect(r.events.map((e) => `${e.situation} ${e.server ?? "-"}`)).toEqual(c.events);
    }
  });

  it("a switchover's catch-up depends on db1's final position, read in read-pos", () => {
    const { d } = cluster();
    const r = dryRun(d, "switchover", { target: "db2" });
    const phases = r.operation?.phases ?? [];
    const catchUp = phases.find((p) => p.name === "catch-up");
    expect(catchUp?.dependsOn.join(" ")).toMatch(/inspect of db1 \(read-pos\).*0-1-100/);
    expect(catchUp?.steps[0]).toMatchObject({
      server: "db2",
      step: { kind: "wait-gtid", pos: "0-1-100" },
      sql: ["SELECT MASTER_GTID_WAIT('0-1-100', 10) AS result"],
    });
    const demote = phases[0];
    expect(demote?.steps[0]).toMatchObject({
      key: "fence",
      step: { kind: "fence", kill: "unprivileged" },
      sql: [
        "SET GLOBAL read_only = ON",
        expect.stringMatching(/^KILL CONNECTION <id> for every unprivileged client session/),
        "SET GLOBAL rpl_semi_sync_master_enabled = OFF (if it was ON)",
      ],
    });
    expect(demote?.steps[1]?.after).toEqual(["fence"]);
    const promote = phases.find((p) => p.name === "promote");
    expect(promote?.steps.find((s) => s.promotes)).toMatchObject({
      server: "db2",
      step: { kind: "set-read-only", readOnly: false },
    });
    // The replication password is never in the text.
    const change = phases
      .flatMap((p) => p.steps)
      .find((s) => s.step.kind === "change-master" && s.server === "db3");
    expect(change?.sql[1]).toMatch(
      /^CHANGE MASTER '' TO MASTER_HOST='127\.0\.0\.1', MASTER_PORT=\d+, MASTER_USER='repl', MASTER_PASSWORD='<replication password>', MASTER_USE_GTID=slave_pos/,
    );
  });

  it("a command beside a running operation reports no operation of its own", () => {
    const { d } = cluster();
    const started = d.command("switchover", { target: "db2" });
    expect(repliesIn(started)[0]).toMatchObject({ ok: true });
    for (const verb of ["pause", "reset-failover-limits"] as const) {
      const r = dryRun(d, verb);
      expect(r.outcome, verb).toBe("accepted");
      expect(r.operation, verb).toBeNull();
    }
    const m = dryRun(d, "set-maintenance", { server: "db3", reason: "disk" });
    expect(m.operation).toBeNull();
    // cancel acts on the running one: its undo is what it reports.
    const opId = d.state.operation!.opId;
    expect(dryRun(d, "cancel", { opId }).operation?.kind).toBe("switchover");
  });

  it("stays within its schema on a cluster of 40 servers with long GTID lists", () => {
    const servers = Array.from({ length: 40 }, (_, i) => ({ name: `db${i + 1}` }));
    const { d } = cluster({ servers });
    const r = dryRun(d, "failover", { force: true });
    expect(DryRunReport.safeParse(r).success).toBe(true);
    expect(r.assumptions.length).toBeLessThanOrEqual(32);
  });

  it("a rebuild's agent calls say which programs run on the hosts", () => {
    const { d, healthy } = cluster();
    d.health("db3", errant(healthy.db3!));
    const r = dryRun(d, "rebuild", { target: "db3", source: "db2", compression: { kind: "zstd" } });
    const [receive, send] = r.operation?.phases ?? [];
    expect(receive?.agentCalls[0]?.programs.join("\n")).toMatch(
      /socat -d -d -u TCP-LISTEN:<port> - \| zstd -d -c \| mbstream -x/,
    );
    expect(send?.agentCalls[0]?.programs[0]).toMatch(
      /^mariadb-backup --backup --stream=xbstream .* \| zstd -1 -c \| socat .* TCP:127\.0\.0\.1:4444$/,
    );
    expect(send?.dependsOn.join(" ")).toMatch(/port it picks at run time/);
  });

  it("the long-transaction pre-check: at the bound passes, forced passes, no figure passes", () => {
    for (const [age, force, outcome] of [
      [60, false, "accepted"],
      [600, true, "accepted"],
      [null, false, "accepted"],
      [undefined, false, "accepted"],
      [61, false, "refused"],
    ] as const) {
      const { d, healthy } = cluster();
      const o = { ...healthy.db1! };
      if (age === undefined) delete o.oldestTransactionSeconds;
      else o.oldestTransactionSeconds = age;
      d.health("db1", o);
      expect(dryRun(d, "switchover", { force }).outcome).toBe(outcome);
      // And the real command agrees with its dry-run.
      const real = repliesIn(d.command("switchover", { force }, "real"))[0];
      expect(real?.ok).toBe(outcome === "accepted");
    }
  });

  it("configured bound: switchover.maxTransactionSeconds", () => {
    const { d, healthy } = cluster({ switchover: { maxTransactionSeconds: 5 } });
    d.health("db1", { ...healthy.db1!, oldestTransactionSeconds: 6 });
    expect(dryRun(d, "switchover").error?.code).toBe("LONG_TRANSACTION");
  });
});

/** Steps as `phase server kind key` in the order the engine sent them. */
const sentSteps = (actions: Action[]) =>
  stepsIn(actions).map((a) => `${a.request.server} ${a.request.step.kind}`);

describe("a dry-run matches the run", () => {
  // The real run, its steps answered as the dry-run assumes (success; an inspection reads
  // what the last sample showed): the same steps on the same servers, in the same phases.
  it.each([
    ["switchover", { target: "db2" }, undefined],
    ["switchover", {}, undefined],
    ["failover", { force: true }, undefined],
    ["rejoin", { server: "db3" }, "detached"],
  ] as const)("%s %j", (verb, payload, setup) => {
    const { d, healthy } = cluster();
    d.command("pause", {}); // no automatic rejoin of db3 before the command
    if (setup === "detached")
      d.health("db3", { ...healthy.db3!, replication: [], gtidSlavePos: "" });
    const r = dryRun(d, verb, payload);
    const planned = (r.operation?.phases ?? []).flatMap((p) =>
      p.steps.map((s) => `${s.server} ${s.step.kind}`),
    );
    const samples = JSON.parse(JSON.stringify(d.state.lastObservation)) as Record<
      string,
      { observation: ServerObservation }
    >;
    const start = d.command(verb, payload, "real");
    // As a server answers: a fence makes it read-only, which its next inspection shows.
    const fenced = new Set<string>();
    const ran = [
      ...start,
      ...execute(d, start, (req) => {
        const s = req.step;
        if (s.kind === "fence" || (s.kind === "set-read-only" && s.readOnly))
          fenced.add(req.server);
        if (s.kind !== "inspect") return okResult(req.stepId, {});
        const o = samples[req.server]!.observation;
        return okResult(req.stepId, { ...o, readOnly: o.readOnly || fenced.has(req.server) });
      }),
    ];
    // The same steps; within a phase the run sends them in the order their answers came.
    expect(sentSteps(ran).sort()).toEqual([...planned].sort());
    expect(sentSteps(ran)).toHaveLength(planned.length);
    // What the command sends at once: the first phase's steps that wait for nothing.
    const now = r.operation?.phases[0]?.steps
      .filter((s) => s.after.length === 0)
      .map((s) => `${s.server} ${s.step.kind}`);
    expect(sentSteps(start)).toEqual(now);
  });
});

describe("a dry-run changes nothing (property)", () => {
  const verbs: [Verb, Record<string, unknown>][] = [
    ["failover", {}],
    ["failover", { force: true }],
    ["failover", { target: "db3", force: true }],
    ["switchover", {}],
    ["switchover", { target: "db3" }],
    ["switchover", { target: "db2", force: true }],
    ["rejoin", { server: "db3" }],
    ["rejoin", { server: "db1" }],
    ["rebuild", { target: "db3" }],
    ["rebuild", { target: "db2", source: "db1", method: "logical" }],
    ["set-maintenance", { server: "db2" }],
    ["clear-maintenance", { server: "db2" }],
    ["reset-failover-limits", {}],
    ["cancel", { opId: "op1" }],
    ["pause", {}],
    ["resume", {}],
  ];
  it("whatever the command and the world, the state stays and only the reply is sent", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...verbs),
        fc.record({
          paused: fc.boolean(),
          maintenance: fc.boolean(),
          running: fc.boolean(),
          dead: fc.boolean(),
          diverged: fc.boolean(),
        }),
        ([verb, payload], w) => {
          const world = cluster();
          const { d, healthy } = world;
          if (w.paused) d.command("pause", {});
          if (w.maintenance) d.command("set-maintenance", { server: "db2" });
          if (w.diverged)
            d.health("db3", {
              ...healthy.db3!,
              replication: [],
              gtidBinlogPos: "0-3-7",
              gtidCurrentPos: "0-3-7",
            });
          if (w.dead) pausedWithDeadPrimary(world);
          if (w.running) d.command("switchover", {}, "r0");
          dryRun(d, verb, payload);
        },
      ),
      { numRuns: 200 },
    );
  });
});
