// The flashback's pure parts: reading decoded events (a real 10.11 decoding in fixtures/:
// 0-1-5..0-1-8 row events with full images, 0-1-9 an ALTER TABLE, 0-1-10 a statement-format
// UPDATE, 0-1-11 and 0-1-12 row events with binlog_row_image=MINIMAL), the verdict per event
// and per transaction, and the GTID state at the fork point.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseGtidList } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { applyArgv, undoDecodeArgv } from "../src/flashback/argv.js";
import { type DecodedEvent, parseDecoded } from "../src/flashback/decoded-events.js";
import { firstGtidList } from "../src/flashback/read-decoded.js";
import {
  atForkPoint,
  filterArgs,
  forkStateOf,
  holdsExtras,
  isExtra,
  isInterleaved,
  positionOfState,
  purgedExtras,
  selectionOf,
} from "../src/flashback/selection.js";
import { tableWidths } from "../src/flashback/table-map.js";
import { eventVerdict, undoVerdict } from "../src/flashback/verdict.js";

const text = readFileSync(
  join(import.meta.dirname, "fixtures/flashback-decoded-10.11.sql"),
  "utf8",
);
const t = { schema: "app", table: "t" };

describe("decoded events (mariadb-binlog --verbose, 10.11)", () => {
  const decoded = parseDecoded(text);

  it("reads every transaction with its GTID, flags and events", () => {
    expect(decoded.map((x) => x.gtid)).toEqual([
      "0-1-5",
      "0-1-6",
      "0-1-7",
      "0-1-8",
      "0-1-9",
      "0-1-10",
      "0-1-11",
      "0-1-12",
    ]);
    expect(decoded[4]?.flags).toEqual(["ddl"]);
    expect(decoded[0]?.flags).toEqual(["trans"]);
    expect(decoded[4]?.events).toEqual([
      { kind: "query", statement: "ALTER TABLE app.u ADD COLUMN z INT" },
    ]);
    expect(decoded[5]?.events).toEqual([
      { kind: "query", statement: "UPDATE app.u SET w='zz' WHERE id=1" },
    ]);
  });

  it("counts alike rows of one event once (a statement over many rows)", () => {
    const header = (what: string) =>
      `#261205 12:35:16 server id 1  end_log_pos 9 CRC32 0x1d1d1d1d \t${what}`;
    const row = (id: number, full: boolean) => [
      "### UPDATE `app`.`t`",
      "### WHERE",
      `###   @1=${id}`,
      ...(full ? ["###   @2='x'", "###   @3=1"] : []),
      "### SET",
      `###   @1=${id}`,
      "###   @2='y'",
      "###   @3=2",
    ];
    const text = [
      header("GTID 0-1-7 trans"),
      header("Update_rows: table id 18 flags: STMT_END_F"),
      ...row(1, true),
      ...row(2, true),
      ...row(3, false),
      ...row(4, true),
      "# Number of rows: 4",
      header("Xid = 9"),
    ].join("\n");
    const [trx] = parseDecoded(text);
    const [ev] = trx!.events as Extract<DecodedEvent, { kind: "rows" }>[];
    expect(ev?.rows.map((r) => [r.images[0]?.columns, r.count])).toEqual([
      [[1, 2, 3], 3],
      [[1], 1],
    ]);
    const v = undoVerdict([trx!], selectionOf("0-1-7", "0-1-6"), new Map([["app.t", 3]]), true);
    expect(v.rows).toEqual({ insert: 0, update: 4, delete: 0 });
    expect(v.reason).toMatch(/partial row image/);
  });

  it("reads row images and the widths the Table_map events logged", () => {
    const [update] = decoded[1]!.events as Extract<DecodedEvent, { kind: "rows" }>[];
    expect(update?.rows).toEqual([
      {
        op: "update",
        table: t,
        images: [
          { side: "before", columns: [1, 2, 3] },
          { side: "after", columns: [1, 2, 3] },
        ],
        count: 1,
      },
    ]);
    expect(update?.widths).toEqual(new Map([["app.t", 3]]));
    const [minimal] = decoded[6]!.events as Extract<DecodedEvent, { kind: "rows" }>[];
    expect(minimal?.rows[0]?.images).toEqual([
      { side: "before", columns: [1] },
      { side: "after", columns: [3] },
    ]);
    const [u] = decoded[3]!.events as Extract<DecodedEvent, { kind: "rows" }>[];
    expect(u?.widths).toEqual(new Map([["app.u", 2]]));
  });
});

describe("the verdict per event", () => {
  const widths = new Map([["app.t", 3]]);
  const rows = (
    op: "insert" | "update" | "delete",
    images: Array<["before" | "after", number[]]>,
  ): DecodedEvent => ({
    kind: "rows",
    name: "Write_rows",
    widths,
    rows: [
      { op, table: t, images: images.map(([side, columns]) => ({ side, columns })), count: 1 },
    ],
  });
  const none = new Map<string, number>();
  const cases: Array<[string, DecodedEvent, RegExp | null]> = [
    ["a full insert", rows("insert", [["after", [1, 2, 3]]]), null],
    [
      "a full update",
      rows("update", [
        ["before", [1, 2, 3]],
        ["after", [1, 2, 3]],
      ]),
      null,
    ],
    ["a full delete", rows("delete", [["before", [1, 2, 3]]]), null],
    [
      "a minimal update",
      rows("update", [
        ["before", [1]],
        ["after", [3]],
      ]),
      /partial row image/,
    ],
    ["a minimal delete", rows("delete", [["before", [1]]]), /before columns @1 of 3/],
    ["a NOBLOB-like gap", rows("insert", [["after", [1, 3]]]), /partial row image/],
    ["an update without its before image", rows("update", [["after", [1, 2, 3]]]), /images after/],
    ["BEGIN", { kind: "query", statement: "BEGIN" }, null],
    ["COMMIT", { kind: "query", statement: "COMMIT" }, null],
    ["DDL", { kind: "query", statement: "ALTER TABLE app.t ADD c INT" }, /^DDL: ALTER TABLE/],
    ["TRUNCATE", { kind: "query", statement: "truncate table app.t" }, /^DDL/],
    ["a statement", { kind: "query", statement: "UPDATE app.t SET n=1" }, /^statement event/],
    ["XA", { kind: "query", statement: "XA START 'x'" }, /^XA transaction/],
    ["an Intvar event", { kind: "other", name: "Intvar" }, /only row events/],
    [
      "compressed rows",
      { kind: "rows", name: "Write_rows_compressed", widths, rows: [] },
      /compressed/,
    ],
  ];
  it.each(cases)("%s", (_name, e, want) => {
    const got = eventVerdict(e, none);
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatch(want);
  });

  it("falls back to the table's columns today only when no Table_map width was logged", () => {
    const e: DecodedEvent = {
      kind: "rows",
      name: "Write_rows",
      widths: new Map(),
      rows: [{ op: "insert", table: t, images: [{ side: "after", columns: [1, 2] }], count: 1 }],
    };
    expect(eventVerdict(e, new Map([["app.t", 2]]))).toBeNull();
    expect(eventVerdict(e, new Map())).toMatch(/column count is unknown/);
  });
});

describe("the verdict on the extra transactions", () => {
  const decoded = parseDecoded(text);
  const none = new Map<string, number>();

  it("judges each one and gives the reasons of those that cannot be undone", () => {
    const v = undoVerdict(decoded, selectionOf("0-1-12", "0-1-4"), none, true);
    expect(v.undoable).toBe(false);
    expect(v.transactions.map((x) => [x.gtid, x.undoable])).toEqual([
      ["0-1-5", true],
      ["0-1-6", true],
      ["0-1-7", true],
      ["0-1-8", true],
      ["0-1-9", false],
      ["0-1-10", false],
      ["0-1-11", false],
      ["0-1-12", false],
    ]);
    expect(v.reason).toContain("0-1-9: DDL transaction; DDL: ALTER TABLE app.u ADD COLUMN z INT");
    expect(v.reason).toContain("0-1-10: statement event");
    expect(v.reason).toContain("0-1-11: partial row image");
    expect(v.count).toBe(8);
    expect(v.rows).toEqual({ insert: 2, update: 2, delete: 2 });
  });

  it("undoable when every extra one is a full row event", () => {
    const v = undoVerdict(decoded.slice(0, 4), selectionOf("0-1-8", "0-1-4"), none, true);
    expect(v).toMatchObject({ undoable: true, reason: "", count: 4 });
    expect(v.tables).toEqual([t, { schema: "app", table: "u" }]);
    expect(v.rows).toEqual({ insert: 2, update: 1, delete: 1 });
  });

  it.each([
    ["a purged fork point", decoded.slice(0, 4), "0-1-8", false, /purged/],
    [
      "an extra GTID not found",
      decoded.slice(0, 3),
      "0-1-8",
      true,
      /not found in the binlogs: 0-1-8/,
    ],
    [
      "the primary's transactions after the extra ones",
      decoded.slice(0, 4),
      "0-1-6",
      true,
      /the primary has are among the extra ones \(0-1-7,0-1-8\)/,
    ],
  ])("not undoable: %s", (_name, d, extra, complete, want) => {
    const v = undoVerdict(d, selectionOf(extra, "0-1-4"), none, complete);
    expect(v.undoable).toBe(false);
    expect(v.reason).toMatch(want);
  });

  it("nothing to undo is not undoable", () => {
    expect(undoVerdict([], selectionOf("0-1-8", "0-1-4"), none, true)).toMatchObject({
      undoable: false,
      reason: "not found in the binlogs: 0-1-8",
    });
  });
});

describe("the selection and the GTID state at the fork point", () => {
  it("extra: the (domain, server) pairs after their fork, up to the extra GTID", () => {
    const sel = selectionOf("0-1-12,3-7-5", "0-1-4");
    expect(isExtra(sel, "0-1-5")).toBe(true);
    expect(isExtra(sel, "0-1-12")).toBe(true);
    expect(isExtra(sel, "0-1-4")).toBe(false);
    expect(isExtra(sel, "0-1-13")).toBe(false);
    expect(isExtra(sel, "0-2-6")).toBe(false);
    // No fork for (3, 7): the primary has nothing of it.
    expect(isExtra(sel, "3-7-1")).toBe(true);
    // Among them for --do-domain-ids/--do-server-ids, but not extra.
    expect(isInterleaved(sel, "0-7-8")).toBe(true);
    expect(isInterleaved(sel, "0-2-8")).toBe(false);
    expect(filterArgs(sel)).toEqual(["--do-domain-ids=0,3", "--do-server-ids=1,7"]);
  });

  it.each([
    // An old primary: its own pair back to the fork, the others kept.
    ["0-2-3,0-1-12", "0-1-12", "0-1-4", "0-2-3,0-1-4", "0-1-4"],
    ["0-2-9,0-1-12", "0-1-12", "0-1-4", "0-1-4,0-2-9", "0-2-9"],
    ["0-1-12,1-1-7", "0-1-12", "0-1-10", "0-1-10,1-1-7", "0-1-10,1-1-7"],
    // A pair the primary has nothing of is dropped.
    ["0-1-12,0-3-14", "0-3-14", "", "0-1-12", "0-1-12"],
    ["0-1-12", "0-1-12", "", "", ""],
  ])("state %s without %s (fork %s) is %s, position %s", (state, extra, fork, want, pos) => {
    const sel = selectionOf(extra, fork);
    expect(forkStateOf(sel, state)).toBe(want);
    expect(positionOfState(want)).toBe(pos);
    expect(holdsExtras(sel, state)).toBe(true);
    expect(atForkPoint(sel, state)).toBe(false);
    expect(atForkPoint(sel, want)).toBe(true);
  });

  it("a server written to since is not the divergence given", () => {
    expect(holdsExtras(selectionOf("0-1-12", "0-1-4"), "0-1-13")).toBe(false);
  });
});

describe("the programs", () => {
  it("decode with the selection and apply without a GTID of their own", () => {
    expect(
      undoDecodeArgv({
        files: ["/s/binlog.000002"],
        start: "0-1-4",
        filters: ["--do-domain-ids=0", "--do-server-ids=1"],
        out: "/s/flashback.sql",
        flashback: true,
      }),
    ).toEqual([
      "--no-defaults",
      "--flashback",
      "--start-position=0-1-4",
      "--do-domain-ids=0",
      "--do-server-ids=1",
      "--result-file=/s/flashback.sql",
      "/s/binlog.000002",
    ]);
    const apply = applyArgv("/tmp/x/client.cnf");
    expect(apply[0]).toBe("--defaults-file=/tmp/x/client.cnf");
    expect(apply).toContain("--init-command=SET SESSION sql_log_bin=0");
    expect(apply).toContain("--skip-reconnect");
  });

  it("reads a Table_map event's width from raw bytes", () => {
    // header (19): type 19, size; post-header (8); "app", "t"; width 3; then junk.
    const body = [3, 97, 112, 112, 0, 1, 116, 0, 3, 3, 3, 15, 3];
    const size = 19 + 8 + body.length;
    const raw = new Uint8Array(size);
    raw[4] = 19;
    raw[9] = size;
    raw.set(body, 27);
    expect(tableWidths(raw)).toEqual(new Map([["app.t", 3]]));
    expect(tableWidths(raw.subarray(0, 10))).toEqual(new Map());
  });
});

describe("extra transactions in a purged file (the first file's initial GTID list)", () => {
  it("reads the first Gtid list, one pair per line after the first", () => {
    const text = [
      "# at 4",
      "#261205 12:35:16 server id 1  end_log_pos 299 CRC32 0xcde74ea2 \tGtid list [0-1-4,",
      "# 0-3-2,",
      "# 1-2-7]",
      "#261205 12:35:17 server id 1  end_log_pos 340 CRC32 0x00000000 \tGtid list [0-1-9]",
    ];
    expect(firstGtidList(text)).toEqual(parseGtidList("0-1-4,0-3-2,1-2-7"));
    expect(firstGtidList(["#x \tGtid list []"])).toEqual([]);
    expect(firstGtidList(["no list here"])).toBeNull();
  });

  // [what, extras, fork, the first file's initial list, pairs purged]
  const rows: [string, string, string, string | null, string][] = [
    ["an errant replica whose first file began before any of its own", "0-3-5", "", "0-1-2", ""],
    [
      "an errant replica whose first file began after one of its own",
      "0-3-5",
      "",
      "0-1-2,0-3-3",
      "0-3-5",
    ],
    ["an old primary whose first file began at the fork", "0-1-9", "0-1-6", "0-1-6", ""],
    ["an old primary whose first file began past the fork", "0-1-9", "0-1-6", "0-1-7", "0-1-9"],
    ["no list found: nothing can be told", "0-3-5", "", null, ""],
  ];
  it.each(rows)("%s", (_w, extras, fork, initial, purged) => {
    const sel = selectionOf(extras, fork);
    const got = purgedExtras(sel, initial === null ? null : parseGtidList(initial));
    expect(got).toEqual(parseGtidList(purged));
  });
});
