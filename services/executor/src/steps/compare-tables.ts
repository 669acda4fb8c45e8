import type { TableRef, TablesCompared } from "@marina/contracts";
import type { Session } from "../db.js";
import { text } from "../rows.js";
import * as sql from "../sql.js";
import { findConnection, StepError, type StepRunner } from "./context.js";
import { masterGtidWait } from "./wait-gtid.js";

// Measured on 10.11: CHECKSUM TABLE inside START TRANSACTION WITH CONSISTENT SNAPSHOT gives
// the snapshot's contents (a row committed meanwhile is not counted), and the session's
// Binlog_snapshot_file/position, through BINLOG_GTID_POS, is the snapshot's GTID position.
// START SLAVE UNTIL master_gtid_pos stops both threads there.

const ident = (s: string) => `\`${s.replace(/`/g, "``")}\``;
const tableName = (t: TableRef) => `${ident(t.schema)}.${ident(t.table)}`;

async function checksums(db: Session, tables: readonly TableRef[]): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (const t of tables) {
    const [row] = await db.rows(`CHECKSUM TABLE ${tableName(t)}`);
    const v = row ? row.Checksum : null;
    out.push(v === null || v === undefined ? null : String(v));
  }
  return out;
}

/** The source's checksums in one consistent snapshot, and that snapshot's GTID position. */
async function sourceSnapshot(src: Session, tables: readonly TableRef[]) {
  await src.run({ sql: "START TRANSACTION WITH CONSISTENT SNAPSHOT" });
  try {
    const status = await src.rows("SHOW SESSION STATUS LIKE 'binlog_snapshot_%'");
    const value = (name: string) =>
      text(status.find((r) => text(r, "Variable_name").toLowerCase() === name) ?? {}, "Value");
    const file = value("binlog_snapshot_file");
    const pos = Number(value("binlog_snapshot_position"));
    if (file === "" || !Number.isFinite(pos)) {
      throw new StepError("SQL_ERROR", "the source has no binlog snapshot position (binlog off?)");
    }
    const [g] = await src.rows("SELECT BINLOG_GTID_POS(?, ?) AS pos", [file, pos]);
    const gtid = sql.canonicalGtid(g ? text(g, "pos") : "");
    return { gtid, sums: await checksums(src, tables) };
  } finally {
    await src.run({ sql: "COMMIT" });
  }
}

/**
 * Compares tables with the source at one GTID position (see the step's contract): the
 * server stops replicating, the source is read in a snapshot, the server replicates exactly
 * up to the snapshot's position and is read, then replicates again — unless they differ.
 */
export const compareTables: StepRunner<"compare-tables"> = async (ctx, step) => {
  const until = ctx.clock.now() + step.timeoutMs;
  const conn = await findConnection(ctx.db, step.connection);
  if (!conn) {
    throw new StepError(
      "NOT_APPLICABLE",
      `replication connection '${step.connection}' does not exist`,
    );
  }
  if (!ctx.openSourceSession) throw new StepError("INTERNAL", "no session to the source");
  await ctx.db.run(sql.stopSlave(step.connection));
  const src = await ctx.openSourceSession();
  let snap: { gtid: string; sums: (string | null)[] };
  try {
    snap = await sourceSnapshot(src, step.tables);
  } finally {
    await src.close();
  }
  await ctx.db.run(sql.startSlaveUntil(step.connection, snap.gtid));
  const waited = await masterGtidWait(ctx.db, snap.gtid, Math.max(0, until - ctx.clock.now()));
  if (!waited.reached) {
    await ctx.db.run(sql.stopSlave(step.connection));
    throw new StepError(
      "TIMEOUT",
      `${ctx.server.name} did not reach ${snap.gtid} within ${step.timeoutMs} ms (at ${waited.gtidSlavePos || "empty"}): not compared, replication left stopped`,
      { gtid: snap.gtid },
    );
  }
  const mine = await checksums(ctx.db, step.tables);
  const tables = step.tables.map((t, i) => ({
    schema: t.schema,
    table: t.table,
    server: mine[i] ?? null,
    source: snap.sums[i] ?? null,
    equal: (mine[i] ?? null) === (snap.sums[i] ?? null) && mine[i] !== null,
  }));
  const out: TablesCompared = { gtid: snap.gtid, tables, equal: tables.every((t) => t.equal) };
  // Out of the UNTIL mode: stopped (it is, at the position), then started plainly.
  await ctx.db.run(sql.stopSlave(step.connection));
  if (!out.equal) {
    const differ = tables.filter((t) => !t.equal).map((t) => `${t.schema}.${t.table}`);
    throw new StepError(
      "DATA_MISMATCH",
      `${differ.join(", ")} of ${ctx.server.name} differ from ${step.source}'s at ${snap.gtid}: replication left stopped`,
      out,
    );
  }
  await ctx.db.run(sql.startSlave(step.connection));
  return out;
};
