// Switchover pre-checks (commands/switchover-checks.ts): each refused with its own code and
// a reason, none with `force`; decided on the samples the decider has.
import type { ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { conn, Driver, healthyObservations, makeConfig, repliesIn, stepsIn } from "./helpers.js";

type Over = Parameters<typeof makeConfig>[0];
type Obs = Record<string, ServerObservation | null>;

interface Case {
  what: string;
  config?: Over;
  /** Changes to the healthy db1 → db2, db3 cluster before the command. */
  change?: (o: Obs, config: ReturnType<typeof makeConfig>) => void;
  maintenance?: string[];
  /** Samples after the first round (e.g. a server gone unreachable). */
  later?: Obs;
  payload: Record<string, unknown>;
  code: string | null;
  message?: RegExp;
  /** The target the switchover goes to when accepted. */
  target?: string;
}

const lagging =
  (server: string, seconds: number | null) => (o: Obs, config: ReturnType<typeof makeConfig>) => {
    const x = o[server];
    if (x)
      x.replication = [conn(config, "db1", { gtidIoPos: "0-1-100", secondsBehindMaster: seconds })];
  };

const cases: Case[] = [
  {
    what: "a target in maintenance",
    maintenance: ["db2"],
    payload: { target: "db2" },
    code: "TARGET_IN_MAINTENANCE",
    message: /db2 is in maintenance \(kernel\)/,
  },
  {
    what: "a target in maintenance, forced",
    maintenance: ["db2"],
    payload: { target: "db2", force: true },
    code: null,
    target: "db2",
  },
  {
    what: "a never-promote target",
    config: { servers: [{ name: "db1" }, { name: "db2", neverPromote: true }, { name: "db3" }] },
    payload: { target: "db2" },
    code: "TARGET_NEVER_PROMOTE",
  },
  {
    // force lifts the other checks, never neverPromote (a delayed or DR replica).
    what: "a never-promote target, forced",
    config: { servers: [{ name: "db1" }, { name: "db2", neverPromote: true }, { name: "db3" }] },
    payload: { target: "db2", force: true },
    code: "TARGET_NEVER_PROMOTE",
  },
  {
    what: "a target lagging beyond switchover.maxLagSeconds",
    change: lagging("db2", 31),
    payload: { target: "db2" },
    code: "TARGET_LAGGING",
    message: /db2 lags 31 s behind db1, beyond switchover.maxLagSeconds 30/,
  },
  {
    what: "a target lagging at the bound",
    change: lagging("db2", 30),
    payload: { target: "db2" },
    code: null,
    target: "db2",
  },
  {
    what: "a lagging target under a larger configured bound",
    config: { switchover: { maxLagSeconds: 120 } },
    change: lagging("db2", 100),
    payload: { target: "db2" },
    code: null,
    target: "db2",
  },
  {
    what: "a lagging target, forced",
    change: lagging("db2", 500),
    payload: { target: "db2", force: true },
    code: null,
    target: "db2",
  },
  {
    what: "no target: the lagging replica is passed over for the other",
    config: { switchover: { maxLagSeconds: 5 } },
    change: lagging("db2", 10),
    payload: {},
    code: null,
    target: "db3",
  },
  {
    what: "several failures: the first one's code, every reason",
    maintenance: ["db2"],
    change: lagging("db2", 90),
    payload: { target: "db2" },
    code: "TARGET_IN_MAINTENANCE",
    message: /TARGET_IN_MAINTENANCE: .*; TARGET_LAGGING: db2 lags 90 s/,
  },
  {
    what: "a replica in maintenance left behind a primary that does not relay",
    change: (o) => {
      if (o.db1) o.db1.logSlaveUpdates = false;
    },
    maintenance: ["db3"],
    payload: { target: "db2" },
    code: "REPLICAS_WITHOUT_SOURCE",
    message: /db3 \(in maintenance\) replicates from db1 .* log_slave_updates off on db1/,
  },
  {
    what: "an unreachable replica left behind a primary without binlog",
    change: (o) => {
      if (o.db1) o.db1.logBin = false;
    },
    later: { db3: null },
    payload: { target: "db2" },
    code: "REPLICAS_WITHOUT_SOURCE",
    message: /db3 \(not reachable\) .* log_bin off on db1/,
  },
  {
    what: "replicas left behind, forced",
    change: (o) => {
      if (o.db1) o.db1.logSlaveUpdates = false;
    },
    maintenance: ["db3"],
    payload: { target: "db2", force: true },
    code: null,
    target: "db2",
  },
  {
    what: "a replica in maintenance behind a primary that relays: it keeps a source",
    maintenance: ["db3"],
    payload: { target: "db2" },
    code: null,
    target: "db2",
  },
];

describe("switchover pre-checks", () => {
  it.each(cases)("$what", (c) => {
    const config = makeConfig(c.config ?? {});
    const d = new Driver(config);
    const o: Obs = healthyObservations(config);
    c.change?.(o, config);
    d.round(o);
    for (const s of c.maintenance ?? [])
      d.command("set-maintenance", { server: s, reason: "kernel" });
    if (c.later) {
      d.advance(5000);
      d.round({ ...o, ...c.later });
    }
    const a = d.command("switchover", c.payload);
    const reply = repliesIn(a)[0];
    if (c.code === null) {
      expect(reply).toMatchObject({ ok: true });
      expect(d.state.operation?.servers).toMatchObject({ old: "db1", target: c.target });
      return;
    }
    expect(reply).toMatchObject({ ok: false, error: { code: c.code } });
    if (reply && !reply.ok) {
      if (c.message) expect(reply.error.message).toMatch(c.message);
      if (c.payload.target !== undefined && c.code.startsWith("TARGET_")) {
        expect(reply.error.path).toBe("target");
      }
    }
    // Refused: nothing started, nothing sent.
    expect(d.state.operation).toBeNull();
    expect(stepsIn(a)).toEqual([]);
  });

  it("a lag known only from before the IO thread stopped still counts", () => {
    const config = makeConfig();
    const d = new Driver(config);
    const o: Obs = healthyObservations(config);
    lagging("db2", 45)(o, config);
    d.round(o);
    lagging("db2", null)(o, config);
    d.round(o);
    expect(repliesIn(d.command("switchover", { target: "db2" }))[0]).toMatchObject({
      ok: false,
      error: { code: "TARGET_LAGGING", retryable: true },
    });
  });
});
