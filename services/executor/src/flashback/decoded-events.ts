// The transactions of a text decoded by `mariadb-binlog --verbose` (MariaDB 10.11), as far as
// a flashback needs them: each GTID with its events — row events with the columns of every
// row image (`### @N=` lines), query events with their statement, anything else by name.
// Measured on 10.11: a row event's header is `#<date> <time> server id N  end_log_pos P
// CRC32 0x… \tWrite_rows: table id T flags: …`, its rows follow as `### INSERT INTO
// \`db\`.\`t\`` / `### UPDATE …` / `### DELETE FROM …` with `### SET` / `### WHERE` and one
// `###   @N=value` line per column present in the image; a query event's statement comes
// after its `SET …/*!*/;` lines and ends at a `/*!*/;` line.
import type { TableRef } from "@marina/contracts";
import { widthsOfBase64 } from "./table-map.js";

export type RowOp = "insert" | "update" | "delete";

export interface RowImage {
  /** `before` (WHERE) or `after` (SET). */
  readonly side: "before" | "after";
  /** The column numbers present, in order. */
  readonly columns: number[];
}

export type DecodedEvent =
  | {
      readonly kind: "rows";
      readonly name: string;
      readonly rows: DecodedRow[];
      /** Each table's column count as its Table_map event logged it (`db.table`). */
      readonly widths: Map<string, number>;
    }
  | { readonly kind: "query"; readonly statement: string }
  | { readonly kind: "other"; readonly name: string };

/**
 * Rows of one event alike in operation, table and image columns, counted: a statement that
 * changed a million rows is one entry, not a million.
 */
export interface DecodedRow {
  readonly op: RowOp;
  readonly table: TableRef;
  readonly images: RowImage[];
  count: number;
}

export interface DecodedTransaction {
  readonly gtid: string;
  /** The GTID event's flags: `trans`, `ddl`, `standalone`, … */
  readonly flags: string[];
  readonly events: DecodedEvent[];
}

const HEADER =
  /^#[0-9]{6}\s+[0-9]{1,2}:[0-9]{2}:[0-9]{2}\s+server id [0-9]+\s+end_log_pos [0-9]+(?:\s+CRC32 0x[0-9a-f]+)?\s+(.*)$/;
const GTID = /^GTID ([0-9]+-[0-9]+-[0-9]+)((?:\s+\S+)*)\s*$/;
const ROW_START = /^### (INSERT INTO|UPDATE|DELETE FROM) `((?:[^`]|``)+)`\.`((?:[^`]|``)+)`\s*$/;
const COLUMN = /^###\s+@([0-9]+)=/;
/** Events that carry nothing a flashback must judge. */
const NEUTRAL = new Set([
  "Table_map",
  "Annotate_rows",
  "Xid",
  "Start",
  "Gtid list",
  "Binlog checkpoint",
  "Rotate",
  "Stop",
]);

const OPS: Record<string, RowOp> = {
  "INSERT INTO": "insert",
  UPDATE: "update",
  "DELETE FROM": "delete",
};

/** The event's name from the rest of its header line: `Write_rows: table id 18` → Write_rows. */
export function eventName(rest: string): string {
  if (rest.startsWith("Gtid list")) return "Gtid list";
  if (rest.startsWith("Binlog checkpoint")) return "Binlog checkpoint";
  if (rest.startsWith("Xid =")) return "Xid";
  if (rest.startsWith("Rotate to")) return "Rotate";
  const m = /^([A-Za-z_0-9]+)/.exec(rest);
  return m ? (m[1] as string) : rest.slice(0, 32);
}

function unquote(name: string): string {
  return name.replace(/``/g, "`");
}

/** A query event's statement line (not one of the session settings printed before it). */
function statementLine(line: string): boolean {
  return !/^(SET (TIMESTAMP|@@session\.|@@SESSION\.|INSERT_ID|LAST_INSERT_ID|@`|@@skip_)|\/\*!\\C |use `|\/\*M?!1000)/.test(
    line,
  );
}

/** Parses decoded text line by line (a file may be large: it is streamed), in binlog order. */
export class DecodedParser {
  readonly transactions: DecodedTransaction[] = [];
  #trx: { gtid: string; flags: string[]; events: DecodedEvent[] } | null = null;
  #rowsEvent: {
    kind: "rows";
    name: string;
    rows: DecodedRow[];
    widths: Map<string, number>;
  } | null = null;
  /** The base64 lines of a `BINLOG '…'` statement being read. */
  #base64: string[] | null = null;
  /** The row being read (its images still growing), and where it goes when complete. */
  #row: { op: RowOp; table: TableRef; images: RowImage[]; into: DecodedRow[] } | null = null;
  #query: string[] | null = null;

  /** The row read so far, counted with an alike one of its event or added. */
  #endRow() {
    const r = this.#row;
    this.#row = null;
    if (!r) return;
    const sig = (x: { op: RowOp; table: TableRef; images: RowImage[] }) =>
      JSON.stringify([x.op, x.table.schema, x.table.table, x.images]);
    const key = sig(r);
    const alike = r.into.find((x) => sig(x) === key);
    if (alike) alike.count += 1;
    else r.into.push({ op: r.op, table: r.table, images: r.images, count: 1 });
  }

  #endQuery() {
    if (this.#query && this.#trx) {
      this.#trx.events.push({ kind: "query", statement: this.#query.join("\n").trim() });
    }
    this.#query = null;
  }

  /** One line of the text (without its line break). Lines outside a GTID are skipped. */
  line(line: string): void {
    const header = HEADER.exec(line);
    if (header) {
      this.#header((header[1] as string).trim());
      return;
    }
    if (this.#query !== null) {
      this.#queryLine(this.#query, line);
      return;
    }
    if (this.#rowsEvent !== null) this.#rowLine(this.#rowsEvent, line);
  }

  /** A row event's `BINLOG '…'` block: the Table_map events' widths. */
  #base64Line(ev: { widths: Map<string, number> }, b: string[], line: string): boolean {
    if (!line.startsWith("'")) {
      b.push(line);
      return true;
    }
    for (const [k, v] of widthsOfBase64(b)) ev.widths.set(k, v);
    this.#base64 = null;
    return true;
  }

  /** The transactions parsed. */
  finish(): DecodedTransaction[] {
    this.#endRow();
    this.#endQuery();
    return this.transactions;
  }

  #header(rest: string) {
    this.#endQuery();
    this.#endRow();
    this.#rowsEvent = null;
    this.#base64 = null;
    const gtid = GTID.exec(rest);
    if (gtid) {
      this.#trx = {
        gtid: gtid[1] as string,
        flags: (gtid[2] ?? "").trim().split(/\s+/).filter(Boolean),
        events: [],
      };
      this.transactions.push(this.#trx);
      return;
    }
    if (!this.#trx) return;
    const name = eventName(rest);
    if (/^(Write|Update|Delete)_rows/.test(name)) {
      this.#rowsEvent = { kind: "rows", name, rows: [], widths: new Map() };
      this.#trx.events.push(this.#rowsEvent);
    } else if (name === "Query") {
      this.#query = [];
    } else if (!NEUTRAL.has(name)) {
      this.#trx.events.push({ kind: "other", name });
    }
  }

  #queryLine(q: string[], line: string) {
    if (line === "/*!*/;") {
      this.#endQuery();
    } else if (line.endsWith("/*!*/;")) {
      const body = line.slice(0, -"/*!*/;".length);
      if (q.length > 0 || statementLine(body)) {
        q.push(body);
        this.#endQuery();
      }
    } else if (q.length > 0 || statementLine(line)) {
      q.push(line);
    }
  }

  #rowLine(rowsEvent: { rows: DecodedRow[]; widths: Map<string, number> }, line: string) {
    if (this.#base64 !== null && this.#base64Line(rowsEvent, this.#base64, line)) return;
    if (line === "BINLOG '") {
      this.#base64 = [];
      return;
    }
    const start = ROW_START.exec(line);
    if (start) {
      this.#endRow();
      this.#row = {
        op: OPS[start[1] as string] as RowOp,
        table: { schema: unquote(start[2] as string), table: unquote(start[3] as string) },
        images: [],
        into: rowsEvent.rows,
      };
      return;
    }
    const row = this.#row;
    if (!row) return;
    if (line === "### WHERE") row.images.push({ side: "before", columns: [] });
    else if (line === "### SET") row.images.push({ side: "after", columns: [] });
    else {
      const col = COLUMN.exec(line);
      const image = row.images[row.images.length - 1];
      if (col && image) image.columns.push(Number(col[1]));
    }
  }
}

/** Parses a whole decoded text. */
export function parseDecoded(text: string): DecodedTransaction[] {
  const p = new DecodedParser();
  for (const line of text.split("\n")) p.line(line);
  return p.finish();
}
