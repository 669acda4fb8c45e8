import { describe, expect, it } from "vitest";
import { formatStatus } from "../src/format/status.js";
import { makeStyle, PLAIN } from "../src/format/style.js";
import { NOW, statusOf } from "./fixtures.js";

const ESC = String.fromCharCode(27);
const agentOf = { db1: "agent-db1", db2: "agent-db2", db3: "agent-db3" };
const view = (over: Parameters<typeof statusOf>[0] = {}, boxed = false) =>
  formatStatus({ status: statusOf(over), agentOf, now: NOW, style: PLAIN, boxed });
/** The table's row of a server, split on its column gaps. */
const row = (text: string, server: string) =>
  text
    .split("\n")
    .find((l) => l.startsWith(`${server} `))
    ?.split(/\s{2,}/);

describe("marina status", () => {
  it("heads with the cluster, primary, writer, leader and operation", () => {
    const lines = view().split("\n");
    expect(lines[0]).toBe(
      "cluster main  primary db1  writer db1 (10.0.0.1:3306)  leader decider-1 (epoch 3)",
    );
    expect(lines[1]).toBe("operation: none");
    expect(lines[2]).toBe("failovers: 0 of 3 in the window; last never");
  });

  it("has one row per server: role, read_only, GTID, lag, situation, agent", () => {
    const text = view();
    expect(text).toContain("server  role     read_only  GTID     lag     situation       agent");
    expect(row(text, "db1")).toEqual([
      "db1",
      "primary",
      "OFF",
      "0-1-100",
      "-",
      "PrimaryHealthy",
      "agent-db1 300 ms",
    ]);
    expect(row(text, "db2")).toEqual([
      "db2",
      "replica",
      "ON",
      "0-1-100",
      "0",
      "-",
      "agent-db2 12.0 s ago",
    ]);
    expect(row(text, "db3")).toEqual([
      "db3",
      "replica",
      "ON",
      "0-1-88",
      "12 trx",
      "ReplicaLagging",
      "agent-db3 never heard",
    ]);
  });

  it("shows the running operation, cooldown, cluster situations, maintenance and the last operation", () => {
    const text = view({
      operation: {
        opId: "op-9",
        kind: "failover",
        phase: "promote",
        status: "running",
        promoted: false,
        startedAt: "2026-11-20T12:00:07.500Z",
        servers: { failed: "db1", target: "db2" },
      },
      failovers: {
        inWindow: 1,
        maxPerWindow: 3,
        lastAt: "2026-11-20T11:59:00.000Z",
        cooldownUntil: "2026-11-20T12:04:00.000Z",
      },
      clusterSituations: ["FailoverBlocked:COOLDOWN"],
      maintenance: ["db3"],
      history: [
        {
          opId: "op-8",
          kind: "switchover",
          state: "succeeded",
          startedAt: "2026-11-20T11:58:00.000Z",
          endedAt: "2026-11-20T11:58:00.176Z",
          message: "db2 is the primary",
          servers: {},
        },
      ],
    });
    expect(text).toContain(
      "operation: failover op-9 phase promote (running) for 2.5 s  failed=db1 target=db2",
    );
    expect(text).toContain(
      "failovers: 1 of 3 in the window; last 11:59:00Z; cooldown until 12:04:00Z",
    );
    expect(text).toContain("cluster: FailoverBlocked:COOLDOWN");
    expect(text).toContain("maintenance: db3");
    expect(text).toContain(
      "last operation: switchover op-8 succeeded 11:58:00Z (176 ms): db2 is the primary",
    );
  });

  it("says what needs a sentence below the table: reasons, divergence, agents of unknown servers", () => {
    const text = formatStatus({
      status: statusOf({
        servers: [
          {
            name: "db1",
            role: "down",
            readOnly: null,
            gtidCurrentPos: null,
            situations: ["PrimaryDead"],
            reason: "primary failed; failover pending",
          },
          {
            name: "db2",
            role: "diverged",
            readOnly: true,
            gtidCurrentPos: "0-2-5",
            situations: [],
            reason: null,
          },
        ],
        diverged: { db2: "0-2-5" },
        primaryPosition: null,
      }),
      agentOf: {},
      now: NOW,
      style: PLAIN,
      boxed: false,
    });
    expect(row(text, "db1")).toEqual(["db1", "down", "?", "-", "-", "PrimaryDead", "-"]);
    expect(row(text, "db2")?.slice(0, 5)).toEqual(["db2", "diverged", "ON", "0-2-5", "?"]);
    expect(text).toContain("  db1: primary failed; failover pending");
    expect(text).toContain("  db2: diverged, extra GTIDs 0-2-5");
    expect(text).toContain("  agent agent-db1: 300 ms (its servers not heard yet)");
  });

  it("boxes the table on a terminal and colours only when asked", () => {
    const boxed = view({}, true);
    expect(boxed).toContain("┌");
    expect(boxed).not.toContain(ESC);
    const coloured = formatStatus({
      status: statusOf(),
      agentOf,
      now: NOW,
      style: makeStyle(true),
      boxed: true,
    });
    expect(coloured).toContain(`${ESC}[32m`); // the healthy primary in green
  });
});
