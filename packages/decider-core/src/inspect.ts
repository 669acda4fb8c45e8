import { isGtidList } from "@marina/contracts/gtid";
import type { ConnectionLike, ObservationLike } from "./candidates.js";

// The executor's `inspect` step returns positions and replication state with the field
// names of ServerObservation. `data` is untyped on the wire, so it is read field by field;
// anything malformed makes the whole inspection unusable rather than half-trusted.

export interface InspectView extends ObservationLike {
  gtidBinlogState: string | null;
  serverId: number | null;
}

type Rec = Record<string, unknown>;

function isRec(v: unknown): v is Rec {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function gtidField(r: Rec, key: string): string | null {
  const v = r[key];
  return typeof v === "string" && isGtidList(v) ? v : null;
}

function readConnection(v: unknown): ConnectionLike | null {
  if (!isRec(v)) return null;
  const connection = v.connection;
  const masterHost = v.masterHost;
  const masterPort = v.masterPort;
  const ioThread = v.ioThread;
  const sqlThread = v.sqlThread;
  const gtidIoPos = gtidField(v, "gtidIoPos");
  if (
    typeof connection !== "string" ||
    typeof masterHost !== "string" ||
    typeof masterPort !== "number" ||
    typeof ioThread !== "string" ||
    typeof sqlThread !== "boolean" ||
    gtidIoPos === null
  ) {
    return null;
  }
  const sbm = v.secondsBehindMaster;
  return {
    connection,
    masterHost,
    masterPort,
    ioThread,
    sqlThread,
    gtidIoPos,
    usingGtid: typeof v.usingGtid === "string" ? v.usingGtid : "Slave_Pos",
    secondsBehindMaster: typeof sbm === "number" ? sbm : null,
    lastSqlErrno: typeof v.lastSqlErrno === "number" ? v.lastSqlErrno : 0,
    lastSqlError: typeof v.lastSqlError === "string" ? v.lastSqlError : "",
  };
}

export function readInspect(data: Record<string, unknown>): InspectView | null {
  const gtidBinlogPos = gtidField(data, "gtidBinlogPos");
  const gtidCurrentPos = gtidField(data, "gtidCurrentPos");
  const gtidSlavePos = gtidField(data, "gtidSlavePos");
  const readOnly = data.readOnly;
  const replication = data.replication;
  if (
    gtidBinlogPos === null ||
    gtidCurrentPos === null ||
    gtidSlavePos === null ||
    typeof readOnly !== "boolean" ||
    !Array.isArray(replication)
  ) {
    return null;
  }
  const conns: ConnectionLike[] = [];
  for (const c of replication) {
    const conn = readConnection(c);
    if (!conn) return null;
    conns.push(conn);
  }
  return {
    readOnly,
    // Missing flags are read as the unsafe value so a candidate is never promoted on a guess.
    logBin: data.logBin === true,
    logSlaveUpdates: data.logSlaveUpdates === true,
    gtidBinlogPos,
    gtidCurrentPos,
    gtidSlavePos,
    gtidBinlogState: gtidField(data, "gtidBinlogState"),
    serverId: typeof data.serverId === "number" ? data.serverId : null,
    replication: conns,
  };
}
