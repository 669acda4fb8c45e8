import {
  type ErrorCode,
  type ExecStep,
  MarinaError,
  type ReplicationConnection,
} from "@marina/contracts";
import { toReplicationConnection } from "@marina/mariadb";
import type { Logger } from "@marina/runtime";
import type { Clock } from "../clock.js";
import type { Session } from "../db.js";
import { type Row, text } from "../rows.js";
import * as sql from "../sql.js";
import type { ResolvedCluster, ResolvedServer } from "../targets.js";

export type StepData = Record<string, unknown>;

export interface StepContext {
  readonly db: Session;
  /** Another session to the same server, for a step that must act while `db` waits. */
  readonly openSession: () => Promise<Session>;
  readonly cluster: ResolvedCluster;
  readonly server: ResolvedServer;
  /** change-master's (compare-tables') source server, resolved at admission. */
  readonly source: ResolvedServer | undefined;
  /** A session to `source` (compare-tables reads it too). */
  readonly openSourceSession?: () => Promise<Session>;
  readonly clock: Clock;
  readonly log: Logger;
  /** The request's operation id and this executor's id (save-binlogs names its folder so). */
  readonly opId: string;
  readonly executor: string;
}

export type StepOf<K extends ExecStep["kind"]> = Extract<ExecStep, { kind: K }>;
export type StepRunner<K extends ExecStep["kind"]> = (
  ctx: StepContext,
  step: StepOf<K>,
) => Promise<StepData>;

/** A failed step that still has something to report (positions, the connection's state). */
export class StepError extends MarinaError {
  override readonly name = "StepError";
  constructor(
    code: ErrorCode,
    message: string,
    readonly data: StepData = {},
  ) {
    super(code, message);
  }
}

export async function readConnections(db: Session): Promise<ReplicationConnection[]> {
  return (await db.rows(sql.SHOW_ALL_SLAVES)).map((r) => toReplicationConnection(r));
}

/** One connection, mapped, with its raw row for the columns the contract does not carry. */
export async function findConnectionRow(
  db: Session,
  name: string,
): Promise<{ c: ReplicationConnection; row: Row } | undefined> {
  const row = (await db.rows(sql.SHOW_ALL_SLAVES)).find((r) => text(r, "Connection_name") === name);
  return row ? { c: toReplicationConnection(row), row } : undefined;
}

export async function findConnection(
  db: Session,
  name: string,
): Promise<ReplicationConnection | undefined> {
  return (await readConnections(db)).find((c) => c.connection === name);
}

export function describeConnection(name: string): string {
  return name === "" ? "the default replication connection ''" : `replication connection '${name}'`;
}

export function noSuchConnection(name: string, hint: string): StepError {
  return new StepError("NOT_APPLICABLE", `${describeConnection(name)} does not exist; ${hint}`, {
    connection: name,
    exists: false,
  });
}

/** The connection's last errors in one line, for failure messages. */
export function errorsOf(c: ReplicationConnection): string {
  const parts: string[] = [];
  if (c.lastIoErrno !== 0 || c.lastIoError !== "") {
    parts.push(`IO error ${c.lastIoErrno}: ${c.lastIoError}`);
  }
  if (c.lastSqlErrno !== 0 || c.lastSqlError !== "") {
    parts.push(`SQL error ${c.lastSqlErrno}: ${c.lastSqlError}`);
  }
  return parts.length > 0 ? parts.join("; ") : "no error reported";
}
