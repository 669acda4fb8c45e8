// What each action sends, and the dry-run's plan as the confirmation shows it.
import { describe, expect, it } from "vitest";
import {
  ACTION_TARGET,
  type ActionRequest,
  ActionVerbs,
  apiCommand,
  describeAction,
} from "../src/web/model/actions.js";
import type { DryRunReport } from "../src/web/model/api-types.js";
import { planView } from "../src/web/model/plan.js";

describe("apiCommand", () => {
  it.each<[ActionRequest, unknown]>([
    [{ verb: "switchover" }, { path: "commands/switchover", body: {} }],
    [
      { verb: "switchover", server: "db2", reason: "  kernel  " },
      { path: "commands/switchover", body: { target: "db2", reason: "kernel" } },
    ],
    [
      { verb: "set-maintenance", server: "db3" },
      { path: "commands/set-maintenance", body: { server: "db3" } },
    ],
    [
      { verb: "clear-maintenance", server: "db3" },
      { path: "commands/clear-maintenance", body: { server: "db3" } },
    ],
    [
      { verb: "rejoin", server: "db1" },
      { path: "commands/rejoin", body: { server: "db1" } },
    ],
    [
      { verb: "flashback", server: "db1", reason: "crash" },
      { path: "commands/flashback", body: { server: "db1", reason: "crash" } },
    ],
    [{ verb: "flashback" }, { error: "Flashback needs a server" }],
    [
      { verb: "rebuild", server: "db1", source: "db3" },
      { path: "commands/rebuild", body: { target: "db1", source: "db3" } },
    ],
    [
      { verb: "cancel", opId: "op-x/y" },
      { path: "operations/op-x%2Fy/cancel", body: {} },
    ],
    [
      { verb: "pause", reason: "net work" },
      { path: "commands/pause", body: { reason: "net work" } },
    ],
    [{ verb: "resume" }, { path: "commands/resume", body: {} }],
    [{ verb: "rejoin" }, { error: "Rejoin needs a server" }],
    [{ verb: "rebuild" }, { error: "Rebuild needs a server" }],
    [{ verb: "cancel" }, { error: "no operation is running" }],
  ])("%j → %j", (request, expected) => {
    expect(apiCommand(request)).toEqual(expected);
  });

  it("names every verb in words", () => {
    for (const verb of ActionVerbs) {
      const need = ACTION_TARGET[verb];
      const text = describeAction({ verb, server: "db2", opId: "op-1" });
      expect(text.length, verb).toBeGreaterThan(3);
      if (need === "server" || need === "optional-server") expect(text).toContain("db2");
    }
    expect(describeAction({ verb: "switchover" })).toBe("Switchover (best candidate)");
  });
});

const report: DryRunReport = {
  verb: "switchover",
  outcome: "accepted",
  error: null,
  message: "switchover from db1 to db2 started",
  operation: {
    kind: "switchover",
    reason: "switchover from db1 to db2",
    servers: { old: "db1", target: "db2" },
    phases: [
      {
        name: "demote",
        known: true,
        dependsOn: [],
        message: "demoting db1",
        deadlineMs: 12_000,
        steps: [
          {
            key: "fence",
            server: "db1",
            step: { kind: "fence" } as never,
            description: "fence (read_only=1)",
            after: [],
            bestEffort: false,
            promotes: false,
            sql: ["SET GLOBAL read_only=1"],
          },
        ],
        agentCalls: [],
      },
      {
        name: "promote",
        known: false,
        dependsOn: ["db2 caught up"],
        message: "promoting db2",
        deadlineMs: null,
        steps: [
          {
            key: "writable",
            server: "db2",
            step: { kind: "set-read-only" } as never,
            description: "set read_only=0",
            after: [],
            bestEffort: false,
            promotes: true,
            sql: [],
          },
        ],
        agentCalls: [],
      },
    ],
    end: { state: "succeeded", message: "db2 is the primary" },
    stoppedAt: null,
  },
  candidates: [
    { server: "db2", rank: 1, position: "0-1-5", chosen: true, reason: "most advanced" },
    { server: "db3", rank: null, position: "0-1-4", chosen: false, reason: "in maintenance" },
  ],
  events: [],
  assumptions: ["every step succeeds"],
};

describe("planView", () => {
  it("lists the candidates and each phase's steps, the point of no return marked", () => {
    const p = planView(report);
    expect(p.accepted).toBe(true);
    expect(p.candidates.map((c) => `${c.server} ${c.rank} ${c.chosen}`)).toEqual([
      "db2 #1 true",
      "db3 excluded false",
    ]);
    expect(p.phases.map((x) => [x.name, x.when, x.deadline])).toEqual([
      ["demote", "now", "12 s"],
      ["promote", "planned", null],
    ]);
    expect(p.phases[0]!.steps[0]).toEqual({
      server: "db1",
      text: "fence (read_only=1)",
      promotes: false,
      detail: ["SET GLOBAL read_only=1"],
    });
    expect(p.phases[1]!.steps[0]!.promotes).toBe(true);
    expect(p.end).toBe("succeeded: db2 is the primary");
  });

  it("says why a refused command would be refused", () => {
    const p = planView({
      ...report,
      outcome: "refused",
      operation: null,
      candidates: null,
      error: {
        code: "TARGET_LAGGING",
        message: "db2 is 40 s behind",
        path: "target",
        retryable: true,
      },
    });
    expect(p.accepted).toBe(false);
    expect(p.error).toBe("TARGET_LAGGING at target: db2 is 40 s behind");
    expect(p.phases).toEqual([]);
  });
});

describe("a flashback's plan", () => {
  it("lists each extra transaction with its verdict", () => {
    const v = planView({
      verb: "flashback",
      outcome: "refused",
      error: { code: "NOT_UNDOABLE", message: "cannot be undone", retryable: false },
      message: "cannot be undone",
      operation: null,
      candidates: null,
      events: [],
      assumptions: [],
      undo: {
        undoable: false,
        reason: "0-1-9: DDL: ALTER TABLE app.t ADD c INT",
        transactions: [
          {
            gtid: "0-1-9",
            undoable: false,
            reason: "DDL: ALTER TABLE app.t ADD c INT",
            tables: [],
            rows: { insert: 0, update: 0, delete: 0 },
          },
        ],
        count: 1,
        tables: [],
        rows: { insert: 0, update: 0, delete: 0 },
      },
    });
    expect(v.undo).toEqual([
      "cannot be undone: 0-1-9: DDL: ALTER TABLE app.t ADD c INT",
      "0-1-9 no: - (0 ins, 0 upd, 0 del) — DDL: ALTER TABLE app.t ADD c INT",
    ]);
    expect(planView(report).undo).toEqual([]);
  });
});
