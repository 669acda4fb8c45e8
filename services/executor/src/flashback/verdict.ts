// Whether the extra transactions can be undone by flashback, judged per transaction from the
// decoded events: only row events (a statement or DDL event has no reverse — measured on
// 10.11, `mariadb-binlog --flashback` silently drops query events, exit 0), every row image
// full (with binlog_row_image MINIMAL an update's WHERE names only the key and its SET only
// what changed: its "reverse" is wrong), and every extra GTID present in the binlogs read.
import type { TableRef, UndoVerdict } from "@marina/contracts";
import { tableText, UNDO_LISTED_MAX } from "@marina/contracts";
import type { DecodedEvent, DecodedTransaction } from "./decoded-events.js";
import { isExtra, isInterleaved, type Selection } from "./selection.js";

type Transaction = UndoVerdict["transactions"][number];
type Rows = UndoVerdict["rows"];

/** Statements a transaction may carry around its row events. */
const TRANSACTION_CONTROL = /^(BEGIN|COMMIT|ROLLBACK|START TRANSACTION)\s*;?$/i;
const DDL =
  /^(CREATE|ALTER|DROP|RENAME|TRUNCATE|GRANT|REVOKE|ANALYZE|OPTIMIZE|REPAIR|FLUSH|SET\s+PASSWORD)\b/i;

export const tableKey = tableText;

function short(s: string): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > 120 ? `${one.slice(0, 119)}…` : one;
}

/** Why this event cannot be undone; null when it can. `columns`: each table's column count. */
export function eventVerdict(e: DecodedEvent, columns: ReadonlyMap<string, number>): string | null {
  switch (e.kind) {
    case "query": {
      if (TRANSACTION_CONTROL.test(e.statement)) return null;
      if (/^XA\b/i.test(e.statement)) return `XA transaction (${short(e.statement)})`;
      return DDL.test(e.statement)
        ? `DDL: ${short(e.statement)}`
        : `statement event (binlog_format STATEMENT or MIXED): ${short(e.statement)}`;
    }
    case "other":
      return `${e.name} event: only row events can be undone`;
    case "rows": {
      if (/compressed/i.test(e.name)) return `${e.name}: compressed row events are not undone`;
      for (const row of e.rows) {
        // The width the Table_map event logged; the table as it is now only when it has none.
        const key = tableKey(row.table);
        const n = e.widths.get(key) ?? columns.get(key);
        if (n === undefined) return `table ${key}: its column count is unknown`;
        const expected =
          row.op === "update" ? ["before", "after"] : [row.op === "insert" ? "after" : "before"];
        const sides = row.images.map((i) => i.side);
        if (sides.join() !== expected.join()) {
          return `${row.op} of ${tableKey(row.table)} has images ${sides.join("+") || "none"}`;
        }
        for (const image of row.images) {
          const full = image.columns.length === n && image.columns.every((c, i) => c === i + 1);
          if (!full) {
            return `partial row image (binlog_row_image not FULL): ${row.op} of ${tableKey(row.table)} has ${image.side === "before" ? "before" : "after"} columns @${image.columns.join(",@") || "-"} of ${n}`;
          }
        }
      }
      return null;
    }
    default: {
      const never: never = e;
      return String(never);
    }
  }
}

function rowsOf(t: DecodedTransaction): Rows {
  const rows = { insert: 0, update: 0, delete: 0 };
  for (const e of t.events) if (e.kind === "rows") for (const r of e.rows) rows[r.op] += r.count;
  return rows;
}

function tablesOf(t: DecodedTransaction): TableRef[] {
  const seen = new Map<string, TableRef>();
  for (const e of t.events) {
    if (e.kind === "rows") for (const r of e.rows) seen.set(tableKey(r.table), r.table);
  }
  return [...seen.values()];
}

/** The verdict of one transaction. */
export function transactionVerdict(
  t: DecodedTransaction,
  columns: ReadonlyMap<string, number>,
): Transaction {
  const reasons: string[] = [];
  if (t.flags.includes("ddl")) reasons.push("DDL transaction");
  for (const e of t.events) {
    const why = eventVerdict(e, columns);
    if (why !== null && !reasons.includes(why)) reasons.push(why);
  }
  return {
    gtid: t.gtid,
    undoable: reasons.length === 0,
    reason: reasons.join("; ").slice(0, 1024),
    tables: tablesOf(t).slice(0, 64),
    rows: rowsOf(t),
  };
}

/**
 * The verdict on the extra transactions among `decoded`: each judged, and all of them found
 * (the last extra GTID of each (domain, server) present), none of the primary's among them,
 * and the binlogs complete (`complete`: the fork point's file was not purged).
 */
export function undoVerdict(
  decoded: readonly DecodedTransaction[],
  sel: Selection,
  columns: ReadonlyMap<string, number>,
  complete: boolean,
): UndoVerdict {
  const extra = decoded.filter((t) => isExtra(sel, t.gtid));
  const judged = extra.map((t) => transactionVerdict(t, columns));
  const reasons: string[] = [];
  if (!complete)
    reasons.push(
      "a binlog holding extra transactions was purged (the fork point's, or one before the first file left): not every extra transaction is there",
    );
  const found = new Set(extra.map((t) => t.gtid));
  const missing = sel.extra.filter((g) => !found.has(`${g.domain}-${g.server}-${g.seq}`));
  if (missing.length > 0) {
    reasons.push(
      `not found in the binlogs: ${missing.map((g) => `${g.domain}-${g.server}-${g.seq}`).join(",")}`,
    );
  }
  const among = decoded.filter((t) => isInterleaved(sel, t.gtid)).map((t) => t.gtid);
  if (among.length > 0) {
    reasons.push(
      `transactions the primary has are among the extra ones (${among.slice(0, 5).join(",")}${among.length > 5 ? ",…" : ""})`,
    );
  }
  const bad = judged.filter((t) => !t.undoable);
  for (const t of bad.slice(0, 5)) reasons.push(`${t.gtid}: ${t.reason}`);
  if (bad.length > 5)
    reasons.push(`and ${bad.length - 5} more transaction(s) that cannot be undone`);
  const tables = new Map<string, TableRef>();
  const rows = { insert: 0, update: 0, delete: 0 };
  for (const t of judged) {
    for (const tb of t.tables) tables.set(tableKey(tb), tb);
    rows.insert += t.rows.insert;
    rows.update += t.rows.update;
    rows.delete += t.rows.delete;
  }
  return {
    undoable: reasons.length === 0 && judged.length > 0,
    reason: (judged.length === 0 && reasons.length === 0
      ? "no extra transaction found"
      : reasons.join("; ")
    ).slice(0, 4096),
    transactions: judged.slice(0, UNDO_LISTED_MAX),
    count: judged.length,
    tables: [...tables.values()].slice(0, 256),
    rows,
  };
}
