import { type OperationRecord, OperationRecord as RecordSchema } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  formatHistoryRecord,
  formatHistoryTable,
  formatRequester,
  formatServers,
} from "../src/format/history.js";
import { PLAIN } from "../src/format/style.js";

const now = new Date("2026-11-20T13:00:00.000Z");

function record(over: Partial<OperationRecord> = {}): OperationRecord {
  return RecordSchema.parse({
    cluster: "main",
    id: "op-1",
    kind: "switchover",
    outcome: "succeeded",
    trigger: "command",
    reason: "kernel upgrade",
    message: "db2 is the primary; db1 replicates from it",
    error: null,
    request: {
      verb: "switchover",
      payload: { target: "db2" },
      source: "marina-cli:ops@host1",
      messageId: "m-1",
      receivedAt: "2026-11-20T12:00:00.000Z",
    },
    decider: "decider-a",
    epoch: 3,
    servers: { old: "db1", target: "db2" },
    startedAt: "2026-11-20T12:00:00.000Z",
    endedAt: "2026-11-20T12:00:00.300Z",
    durationMs: 300,
    phases: [
      { name: "demote", durationMs: 120 },
      { name: "promote", durationMs: 180 },
    ],
    steps: [
      {
        id: "op-1-1",
        phase: "demote",
        key: "fence",
        server: "db1",
        kind: "fence",
        description: "fence (read_only=1)",
        status: "ok",
        attempts: 1,
        bestEffort: false,
        sentAt: "2026-11-20T12:00:00.000Z",
        endedAt: "2026-11-20T12:00:00.040Z",
        durationMs: 40,
        error: null,
      },
      {
        id: "op-1-2",
        phase: "promote",
        key: "writable",
        server: "db2",
        kind: "set-read-only",
        description: "set read_only=0",
        status: "failed",
        attempts: 3,
        bestEffort: false,
        sentAt: "2026-11-20T12:00:00.120Z",
        endedAt: null,
        durationMs: null,
        error: { code: "TIMEOUT", message: "no reply within 5000 ms", retryable: true },
      },
    ],
    stepsOmitted: 0,
    agentCalls: [],
    ...over,
  });
}

describe("history for people", () => {
  it("names the servers and who asked", () => {
    expect(formatServers({ old: "db1", target: "db2" })).toBe("db1→db2");
    expect(formatServers({ failed: "db1", candidate: "db2" })).toBe("failed=db1 candidate=db2");
    expect(formatRequester(record())).toBe("marina-cli:ops@host1");
    expect(formatRequester(record({ trigger: "automatic", request: null }))).toBe("auto");
    const bare = record().request!;
    expect(formatRequester(record({ request: { ...bare, source: null } }))).toBe("command");
  });

  it("one row per operation: a refusal takes no time and says its code", () => {
    const refused = record({
      id: "refused-x",
      kind: "failover",
      outcome: "refused",
      servers: {},
      durationMs: 0,
      message: "db1 is healthy",
      error: { code: "PRIMARY_ALIVE", message: "db1 is healthy", retryable: false },
    });
    const text = formatHistoryTable([record(), refused], {
      boxed: false,
      style: PLAIN,
      now,
      width: Number.POSITIVE_INFINITY,
    });
    const rows = text.split("\n").map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      ["ended", "kind", "id", "outcome", "by", "servers", "took", "detail"],
      [
        "12:00:00Z",
        "switchover",
        "op-1",
        "succeeded",
        "marina-cli:ops@host1",
        "db1→db2",
        "300 ms",
        "db2 is the primary; db1 replicates from it",
      ],
      [
        "12:00:00Z",
        "failover",
        "refused-x",
        "refused",
        "marina-cli:ops@host1",
        // An empty servers cell: the columns around it stay apart.
        "-",
        "PRIMARY_ALIVE: db1 is healthy",
      ],
    ]);
  });

  it("one operation: the request, the phases, and every step with its time or its error", () => {
    const lines = formatHistoryRecord(record(), { boxed: false, style: PLAIN, now });
    expect(lines.slice(0, 12)).toEqual([
      "switchover op-1 succeeded in 300 ms",
      "  cluster    main",
      "  started    12:00:00Z   ended 12:00:00Z",
      "  trigger    command",
      '  requested  switchover {"target":"db2"}',
      "  by         marina-cli:ops@host1  (message m-1)",
      "  reason     kernel upgrade",
      "  servers    db1→db2",
      "  decider    decider-a (epoch 3)",
      "  outcome    db2 is the primary; db1 replicates from it",
      "  phases     demote 120 ms · promote 180 ms",
      "",
    ]);
    const table = lines[12]!.split("\n").map((l) => l.split(/\s{2,}/));
    expect(table).toEqual([
      ["phase", "server", "step", "status", "tries", "sent", "took", "error"],
      ["demote", "db1", "fence (read_only=1)", "ok", "+0.000 s", "40 ms"],
      [
        "promote",
        "db2",
        "set read_only=0",
        "failed",
        "3",
        "+0.120 s",
        "-",
        "TIMEOUT: no reply within 5000 ms",
      ],
    ]);
  });

  it("the hooks and the veto request, with their output and whether they vetoed", () => {
    const hook = {
      phase: "pre-hook",
      signal: null,
      timedOut: false,
      durationMs: 12,
    };
    const lines = formatHistoryRecord(
      record({
        hooks: [
          {
            ...hook,
            hook: "preSwitchover",
            status: "failed",
            vetoed: true,
            exitCode: 1,
            stdout: "checking\n",
            stderr: "change freeze\n",
          },
          {
            ...hook,
            hook: "veto",
            status: "ok",
            vetoed: false,
            exitCode: null,
            stdout: "ci: ok",
            stderr: "",
          },
        ],
      }),
      { boxed: false, style: PLAIN, now },
    );
    expect(lines.slice(-7)).toEqual([
      "",
      "  preSwitchover (pre-hook) failed exit 1 in 12 ms vetoed",
      "    stdout  checking",
      "    stderr  change freeze",
      "",
      "  veto (pre-hook) ok in 12 ms",
      "    replies ci: ok",
    ]);
  });
});
