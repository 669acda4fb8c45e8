import { check, SemiSyncState, ServerObservation, semiSyncIsStrict } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  bool,
  gtidText,
  ioThread,
  splitProbeResult,
  toDisks,
  toReplicationConnection,
  toSemiSync,
} from "../src/index.js";
import { observationOf, recorded } from "./fixtures.js";

describe("toObservation on recorded rows", () => {
  const semi = recorded("semi-sync-broken");
  const multi = recorded("multi-source");

  it("maps a semi-sync primary", () => {
    const o = observationOf(semi, "db1");
    expect(o).toMatchObject({
      version: "10.11.19-MariaDB-0+deb12u1-log",
      serverId: 1,
      readOnly: false,
      logBin: true,
      logSlaveUpdates: true,
      gtidDomainId: 0,
      gtidStrictMode: true,
      gtidBinlogPos: "0-1-8",
      gtidCurrentPos: "0-1-8",
      gtidSlavePos: "",
      replication: [],
      disk: [],
    });
    expect(o.semiSync).toEqual({
      masterEnabled: true,
      masterStatus: true,
      masterClients: 2,
      slaveEnabled: false,
      slaveStatus: false,
      masterWaitPoint: "AFTER_SYNC",
      masterTimeoutMs: 10000,
    });
  });

  it("maps a healthy replica with its quietMs from the tracker", () => {
    const o = observationOf(semi, "db2", new Map([["", 250]]));
    expect(o.readOnly).toBe(true);
    expect(o.gtidSlavePos).toBe("0-1-8");
    expect(o.replication).toHaveLength(1);
    expect(o.replication[0]).toMatchObject({
      connection: "",
      masterHost: "127.0.0.1",
      masterPort: semi.servers.db1!.port,
      ioThread: "Yes",
      sqlThread: true,
      usingGtid: "Slave_Pos",
      gtidIoPos: "0-1-8",
      secondsBehindMaster: 0,
      lastIoErrno: 0,
      lastSqlErrno: 0,
      heartbeatPeriodSec: 1,
      receivedHeartbeats: 1,
      quietMs: 250,
    });
  });

  it("maps a replica whose SQL thread stopped on a duplicate key", () => {
    const c = observationOf(semi, "db3").replication[0]!;
    expect(c.sqlThread).toBe(false);
    expect(c.ioThread).toBe("Yes");
    expect(c.lastSqlErrno).toBe(1062);
    expect(c.lastSqlError).toContain("Duplicate entry");
    expect(c.secondsBehindMaster).toBeNull();
    expect(c.quietMs).toBeNull();
  });

  it("maps a replica reconnecting to a killed primary", () => {
    const c = observationOf(semi, "db2-connecting").replication[0]!;
    expect(c.ioThread).toBe("Connecting");
    expect(c.lastIoErrno).toBe(2003);
    expect(c.sqlThread).toBe(true);
  });

  it("maps both named connections of a multi-source replica", () => {
    const o = observationOf(multi, "db3");
    expect(o.replication.map((c) => [c.connection, c.masterPort])).toEqual([
      ["p1", multi.servers.db1!.port],
      ["p2", multi.servers.db2!.port],
    ]);
    expect(observationOf(multi, "db2").gtidDomainId).toBe(2);
  });

  it("produces observations the contract accepts, for every recorded server", () => {
    for (const rec of [semi, multi]) {
      for (const name of Object.keys(rec.servers)) {
        const r = check(ServerObservation, observationOf(rec, name));
        expect(r.ok, JSON.stringify(r)).toBe(true);
      }
    }
  });
});

describe("value coercion", () => {
  it.each([
    [1, true],
    [0, false],
    ["ON", true],
    ["OFF", false],
    ["Yes", true],
    ["No", false],
    ["1", true],
    [null, false],
    [undefined, false],
    [1n, true],
  ])("bool(%s) is %s", (v, want) => {
    expect(bool(v)).toBe(want);
  });

  it("strips whitespace and newlines from GTID lists", () => {
    expect(gtidText("0-1-5,\n1-2-3")).toBe("0-1-5,1-2-3");
    expect(gtidText(null)).toBe("");
  });

  it.each([
    ["Yes", "Yes"],
    ["Connecting", "Connecting"],
    ["preparing", "Preparing"],
    ["No", "No"],
    ["", "No"],
    ["something new", "No"],
  ])("ioThread(%s) is %s", (v, want) => {
    expect(ioThread(v)).toBe(want);
  });

  it("keeps Seconds_Behind_Master null when the server reports NULL", () => {
    expect(toReplicationConnection({ Seconds_Behind_Master: null }, null).secondsBehindMaster).toBe(
      null,
    );
    expect(toReplicationConnection({ Seconds_Behind_Master: 7 }, null).secondsBehindMaster).toBe(7);
  });

  it("truncates long error texts to the contract's limit", () => {
    const c = toReplicationConnection({ Last_SQL_Error: "x".repeat(5000) }, null);
    expect(c.lastSqlError).toHaveLength(4096);
  });

  it("reads semi-sync as absent when the server has no such variables", () => {
    expect(toSemiSync([])).toEqual({
      masterEnabled: false,
      masterStatus: false,
      masterClients: 0,
      slaveEnabled: false,
      slaveStatus: false,
      masterWaitPoint: "",
      masterTimeoutMs: 0,
    });
  });

  it("reads strict semi-sync: the 2^64-1 timeout clamped to a safe integer", () => {
    const rows = [
      { name: "RPL_SEMI_SYNC_MASTER_ENABLED", value: "ON" },
      { name: "RPL_SEMI_SYNC_MASTER_TIMEOUT", value: "18446744073709551615" },
      { name: "RPL_SEMI_SYNC_MASTER_WAIT_POINT", value: "AFTER_SYNC" },
    ];
    const s = toSemiSync(rows);
    expect(s).toMatchObject({ masterTimeoutMs: Number.MAX_SAFE_INTEGER });
    expect(SemiSyncState.parse(s)).toEqual(s);
    expect(semiSyncIsStrict(s)).toBe(true);
    const weak = toSemiSync([
      ...rows.slice(0, 1),
      { name: "RPL_SEMI_SYNC_MASTER_TIMEOUT", value: "10000" },
      ...rows.slice(2),
    ]);
    expect(semiSyncIsStrict(weak)).toBe(false);
    expect(semiSyncIsStrict({ ...s, masterWaitPoint: "AFTER_COMMIT" })).toBe(false);
  });

  it("converts information_schema.DISKS KiB to bytes", () => {
    expect(
      toDisks([{ disk: "/dev/sda1", path: "/", total_kb: 1000, available_kb: "250" }]),
    ).toEqual([
      { source: "information_schema.DISKS", path: "/", totalBytes: 1_024_000, freeBytes: 256_000 },
    ]);
  });
});

describe("splitProbeResult", () => {
  it("rejects answers of the wrong shape", () => {
    expect(() => splitProbeResult({}, false)).toThrow(/unexpected shape/);
    expect(() => splitProbeResult([[], []], false)).toThrow(/unexpected shape/);
    expect(() => splitProbeResult([[], [], []], false)).toThrow(/no variables row/);
    expect(() => splitProbeResult([[{ a: 1 }], [], []], true)).toThrow(/unexpected shape/);
  });

  it("returns the disks result set only when asked for", () => {
    const r = splitProbeResult([[{ version: "x" }], [], [], [{ path: "/" }]], true);
    expect(r.disks).toEqual([{ path: "/" }]);
    expect(splitProbeResult([[{ version: "x" }], [], [], [{ path: "/" }]], false).disks).toEqual(
      [],
    );
  });
});
