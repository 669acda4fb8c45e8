// SHOW ALL SLAVES STATUS rows as the executor saw them (what its tests recorded before the
// mapping moved here), and the probe read statement by statement, as the executor's
// inspect step reads it.
import { ReplicationConnection, ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { probeStatements, readObservation, toReplicationConnection } from "../src/index.js";
import { recorded } from "./fixtures.js";

// Columns as MariaDB 10.11 returns them through the connector (taken from a real server).
const ROW = {
  Connection_name: "",
  Slave_SQL_State: "Slave has read all relay log; waiting for more updates",
  Slave_IO_State: "Waiting for master to send event",
  Master_Host: "127.0.0.1",
  Master_User: "repl",
  Master_Port: 43301,
  Connect_Retry: 1,
  Slave_IO_Running: "Yes",
  Slave_SQL_Running: "Yes",
  Relay_Log_Space: 1554,
  Until_Condition: "None",
  Seconds_Behind_Master: 0,
  Last_IO_Errno: 0,
  Last_IO_Error: "",
  Last_SQL_Errno: 0,
  Last_SQL_Error: "",
  Using_Gtid: "Slave_Pos",
  Gtid_IO_Pos: "0-1-4",
  Slave_SQL_Running_State: "Slave has read all relay log; waiting for more updates",
  Slave_received_heartbeats: 1,
  Slave_heartbeat_period: 1,
  Gtid_Slave_Pos: "0-1-4",
};

describe("toReplicationConnection", () => {
  it("maps a running connection to the contract's field names", () => {
    const c = toReplicationConnection(ROW);
    expect(c).toEqual({
      connection: "",
      masterHost: "127.0.0.1",
      masterPort: 43301,
      ioThread: "Yes",
      sqlThread: true,
      ioState: "Waiting for master to send event",
      sqlState: "Slave has read all relay log; waiting for more updates",
      usingGtid: "Slave_Pos",
      gtidIoPos: "0-1-4",
      secondsBehindMaster: 0,
      lastIoErrno: 0,
      lastIoError: "",
      lastSqlErrno: 0,
      lastSqlError: "",
      heartbeatPeriodSec: 1,
      receivedHeartbeats: 1,
      quietMs: null,
      relayLogSpace: 1554,
    });
    expect(ReplicationConnection.safeParse(c).success).toBe(true);
  });

  it("handles a broken connection: NULL lag, errors, wrapped GTID list, odd IO state", () => {
    const c = toReplicationConnection({
      ...ROW,
      Connection_name: "src2",
      Slave_IO_Running: "Something new",
      Slave_SQL_Running: "No",
      Seconds_Behind_Master: null,
      Last_IO_Errno: 1236,
      Last_IO_Error: "x".repeat(5000),
      Gtid_IO_Pos: "0-1-4,\n1-2-9",
      Slave_heartbeat_period: "1.500",
      Using_Gtid: "No",
    });
    expect(c.ioThread).toBe("No");
    expect(c.sqlThread).toBe(false);
    expect(c.secondsBehindMaster).toBeNull();
    expect(c.lastIoErrno).toBe(1236);
    expect(c.lastIoError).toHaveLength(4096);
    expect(c.gtidIoPos).toBe("0-1-4,1-2-9");
    expect(c.heartbeatPeriodSec).toBe(1.5);
    expect(c.usingGtid).toBe("No");
    expect(ReplicationConnection.safeParse(c).success).toBe(true);
  });

  it.each(["Connecting", "Preparing", "No"] as const)("keeps IO state %s", (s) => {
    expect(toReplicationConnection({ ...ROW, Slave_IO_Running: s }).ioThread).toBe(s);
  });
});

describe("readObservation", () => {
  it("sends the probe's statements one by one and maps them like the monitor's probe", async () => {
    const rec = recorded("semi-sync-broken");
    const result = rec.servers.db2!.result as unknown[];
    const sent: string[] = [];
    const obs = await readObservation(async (sql) => {
      sent.push(sql);
      return result[sent.length - 1];
    });
    expect(sent).toEqual(probeStatements(false));
    expect(ServerObservation.safeParse(obs).success).toBe(true);
    // One reading cannot know how long a connection has been quiet.
    expect(obs.replication.every((c) => c.quietMs === null)).toBe(true);
    expect(obs.disk).toEqual([]);
  });

  it("fails on an answer that is not the probe's", async () => {
    await expect(readObservation(async () => [])).rejects.toThrow(/no variables row/);
  });
});
