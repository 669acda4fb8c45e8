// Quiet tracking: how long since this monitor saw a replica connection hear from its
// primary. A connection "heard" something when its IO position (Gtid_IO_Pos) or its
// heartbeat counter moved between two probes. Heartbeats alone lie under write load
// (MariaDB sends them only when the link is idle), so both are compared. Pure: time is an
// argument.
import { gtidText, nonNegInt, type Row, text } from "@marina/mariadb";

/** The fields quiet tracking compares between two probes of one connection. */
export interface ConnectionProgress {
  readonly connection: string;
  readonly gtidIoPos: string;
  readonly receivedHeartbeats: number;
}

/** From one row of SHOW ALL SLAVES STATUS. */
export function progressOf(row: Row): ConnectionProgress {
  return {
    connection: text(row.Connection_name),
    gtidIoPos: gtidText(row.Gtid_IO_Pos),
    receivedHeartbeats: nonNegInt(row.Slave_received_heartbeats),
  };
}

export interface QuietEntry {
  readonly gtidIoPos: string;
  readonly receivedHeartbeats: number;
  /** Monitor time (ms) of the last probe that saw a change, or of the first sighting. */
  readonly changedAt: number;
}

/** Per connection name. */
export type QuietState = ReadonlyMap<string, QuietEntry>;

export interface QuietResult {
  readonly state: QuietState;
  /** Null for a connection seen for the first time (nothing to compare with yet). */
  readonly quietMs: ReadonlyMap<string, number | null>;
}

export const emptyQuiet: QuietState = new Map();

export function updateQuiet(
  prev: QuietState,
  conns: readonly ConnectionProgress[],
  now: number,
): QuietResult {
  const state = new Map<string, QuietEntry>();
  const quietMs = new Map<string, number | null>();
  for (const c of conns) {
    const before = prev.get(c.connection);
    if (!before) {
      state.set(c.connection, { ...pick(c), changedAt: now });
      quietMs.set(c.connection, null);
      continue;
    }
    const moved =
      before.gtidIoPos !== c.gtidIoPos || before.receivedHeartbeats !== c.receivedHeartbeats;
    const changedAt = moved ? now : before.changedAt;
    state.set(c.connection, { ...pick(c), changedAt });
    quietMs.set(c.connection, Math.max(0, Math.round(now - changedAt)));
  }
  // Connections that disappeared are dropped, so a re-created one starts from null.
  return { state, quietMs };
}

function pick(c: ConnectionProgress) {
  return { gtidIoPos: c.gtidIoPos, receivedHeartbeats: c.receivedHeartbeats };
}
