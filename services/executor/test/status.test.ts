import { ReplicationConnection, ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { mapObservation, mapReplicationRow, mapSemiSync } from "../src/status.js";

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

describe("mapReplicationRow", () => {
  it("maps a running connection to the contract's field names", () => {
    const c = mapReplicationRow(ROW);
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
    const c = mapReplicationRow({
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
    expect(mapReplicationRow({ ...ROW, Slave_IO_Running: s }).ioThread).toBe(s);
  });
});

const SEMI_VARS = [
  { Variable_name: "rpl_semi_sync_master_enabled", Value: "ON" },
  { Variable_name: "rpl_semi_sync_master_timeout", Value: "10000" },
  { Variable_name: "rpl_semi_sync_master_wait_point", Value: "AFTER_SYNC" },
  { Variable_name: "rpl_semi_sync_slave_enabled", Value: "OFF" },
];
const SEMI_STATUS = [
  { Variable_name: "Rpl_semi_sync_master_clients", Value: "2" },
  { Variable_name: "Rpl_semi_sync_master_status", Value: "ON" },
  { Variable_name: "Rpl_semi_sync_slave_status", Value: "OFF" },
];

describe("mapSemiSync / mapObservation", () => {
  it("reads semi-sync variables and status", () => {
    expect(mapSemiSync(SEMI_VARS, SEMI_STATUS)).toEqual({
      masterEnabled: true,
      masterStatus: true,
      masterClients: 2,
      slaveEnabled: false,
      slaveStatus: false,
      masterWaitPoint: "AFTER_SYNC",
      masterTimeoutMs: 10000,
    });
    expect(mapSemiSync([], []).masterEnabled).toBe(false);
  });

  it("builds an observation that satisfies ServerObservation", () => {
    const obs = mapObservation({
      state: {
        version: "10.11.19-MariaDB-log",
        server_id: 2,
        read_only: 1,
        log_bin: 1,
        log_slave_updates: 0,
        gtid_domain_id: 0,
        gtid_strict_mode: 1,
        gtid_binlog_pos: "0-1-4",
        gtid_binlog_state: "0-2-1,0-1-4",
        gtid_current_pos: "0-1-4",
        gtid_slave_pos: "0-1-4",
      },
      semiSyncVariables: SEMI_VARS,
      semiSyncStatus: SEMI_STATUS,
      slaves: [ROW],
      clientConnections: 3,
    });
    expect(obs).toMatchObject({
      serverId: 2,
      readOnly: true,
      logBin: true,
      logSlaveUpdates: false,
      gtidStrictMode: true,
      gtidBinlogState: "0-2-1,0-1-4",
      clientConnections: 3,
      disk: [],
    });
    expect(obs.replication).toHaveLength(1);
    expect(ServerObservation.safeParse(obs).success).toBe(true);
  });
});
