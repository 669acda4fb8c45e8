// Column counts from the Table_map events inside a decoded `BINLOG '…'` block (base64 of the
// raw events a row event group is made of): the table's width as it was logged, which a
// full row image must cover — whatever the table looks like today. Binlog v4 layout: a
// 19-byte common header (type at byte 4, event size at bytes 9–12), then for TABLE_MAP_EVENT
// (type 19) an 8-byte post-header (table id, flags), then the database name (length byte,
// name, NUL), the table name (same), and the column count as a packed integer.

const TABLE_MAP_EVENT = 19;
const HEADER = 19;
const POST_HEADER = 8;

/** A packed (length-encoded) integer at `at`; null when it runs past the end. */
function packedInt(b: Uint8Array, at: number): number | null {
  const first = b[at];
  if (first === undefined) return null;
  if (first < 251) return first;
  const size = first === 252 ? 2 : first === 253 ? 3 : first === 254 ? 8 : 0;
  if (size === 0 || at + size >= b.length) return null;
  let v = 0;
  for (let i = size; i >= 1; i -= 1) v = v * 256 + (b[at + i] as number);
  return v;
}

function name(b: Uint8Array, at: number): { text: string; next: number } | null {
  const len = b[at];
  if (len === undefined || at + 1 + len + 1 > b.length) return null;
  return {
    text: Buffer.from(b.subarray(at + 1, at + 1 + len)).toString("utf8"),
    next: at + 1 + len + 1,
  };
}

/** `db.table` → column count, for every Table_map event in the raw bytes. */
export function tableWidths(raw: Uint8Array): Map<string, number> {
  const out = new Map<string, number>();
  let at = 0;
  while (at + HEADER <= raw.length) {
    const type = raw[at + 4];
    const size =
      (raw[at + 9] as number) |
      ((raw[at + 10] as number) << 8) |
      ((raw[at + 11] as number) << 16) |
      ((raw[at + 12] as number) * 2 ** 24);
    if (size < HEADER || at + size > raw.length) break;
    if (type === TABLE_MAP_EVENT) {
      const db = name(raw, at + HEADER + POST_HEADER);
      const table = db ? name(raw, db.next) : null;
      const width = table ? packedInt(raw, table.next) : null;
      if (db && table && width !== null) out.set(`${db.text}.${table.text}`, width);
    }
    at += size;
  }
  return out;
}

/** The widths of a BINLOG statement's base64 text (its lines between `BINLOG '` and `'`). */
export function widthsOfBase64(lines: readonly string[]): Map<string, number> {
  return tableWidths(new Uint8Array(Buffer.from(lines.join(""), "base64")));
}
