import type { Connection } from "./connection.js";
import { closeQuietly } from "./connection.js";
import type { LabUser } from "./credentials.js";
import type { MariaNode } from "./mariadb-node.js";
import { num, quoteIdent, type Row } from "./sql.js";

export interface WriteRowsOptions {
  /** Default 'app' (non-SUPER: refused by read_only=1, like a real application). */
  readonly user?: LabUser;
  /** Table in the app database. Default 'lab_rows'. */
  readonly table?: string;
  readonly socketTimeoutMs?: number;
}

export function rowsTableDdl(qualified: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${qualified} (` +
    "id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, " +
    "payload VARCHAR(64) NOT NULL, " +
    "created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB"
  );
}

/**
 * Inserts `count` rows in one transaction (creating the table if needed) and returns
 * their ids.
 */
export async function writeRows(
  node: MariaNode,
  count: number,
  opts: WriteRowsOptions = {},
): Promise<number[]> {
  const qualified = `${quoteIdent(node.credentials.app.database)}.${quoteIdent(opts.table ?? "lab_rows")}`;
  let conn: Connection | undefined;
  try {
    conn = await node.connect({
      user: opts.user ?? "app",
      ...(opts.socketTimeoutMs !== undefined ? { socketTimeoutMs: opts.socketTimeoutMs } : {}),
    });
    await conn.query(rowsTableDdl(qualified));
    if (count <= 0) return [];
    const values = Array.from({ length: count }, (_, i) => `row ${i + 1} via ${node.name}`);
    await conn.beginTransaction();
    const res = (await conn.query(
      `INSERT INTO ${qualified} (payload) VALUES ${values.map(() => "(?)").join(", ")}`,
      values,
    )) as { insertId: number };
    await conn.commit();
    return Array.from({ length: count }, (_, i) => res.insertId + i);
  } finally {
    await closeQuietly(conn);
  }
}

/** `CHECKSUM TABLE` per table (`db.table` or a table in the app database); null if missing. */
export async function checksumTables(
  node: MariaNode,
  tables: readonly string[],
): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const t of tables) {
    const qualified = t.includes(".")
      ? quoteIdent(t)
      : `${quoteIdent(node.credentials.app.database)}.${quoteIdent(t)}`;
    const [row] = await node.query<Row[]>(`CHECKSUM TABLE ${qualified}`);
    out[t] = num(row, "Checksum");
  }
  return out;
}

/** Number of rows in a table of the app database (or `db.table`). */
export async function countRows(node: MariaNode, table: string): Promise<number> {
  const qualified = table.includes(".")
    ? quoteIdent(table)
    : `${quoteIdent(node.credentials.app.database)}.${quoteIdent(table)}`;
  const [row] = await node.query<Row[]>(`SELECT COUNT(*) AS n FROM ${qualified}`);
  return num(row, "n") ?? 0;
}
