import type { Session } from "../db.js";
import { int } from "../rows.js";
import type { DecodedTransaction } from "./decoded-events.js";
import { tableKey } from "./verdict.js";

/** The column count of every table the decoded row events touch (absent: no such table). */
export async function columnCounts(
  db: Session,
  decoded: readonly DecodedTransaction[],
): Promise<Map<string, number>> {
  const tables = new Map<string, { schema: string; table: string }>();
  for (const t of decoded) {
    for (const e of t.events) {
      if (e.kind === "rows") for (const r of e.rows) tables.set(tableKey(r.table), r.table);
    }
  }
  const out = new Map<string, number>();
  for (const [key, t] of tables) {
    const rows = await db.rows(
      "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
      [t.schema, t.table],
    );
    const n = rows[0] ? int(rows[0], "n") : 0;
    if (n > 0) out.set(key, n);
  }
  return out;
}
