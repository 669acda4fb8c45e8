// A flashback's dry-run for people: the extra transactions with the verdict on each.
import type { DryRunReport } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { formatDryRun } from "../src/format/dry-run.js";
import { PLAIN as plain } from "../src/format/style.js";

const base: DryRunReport = {
  verb: "flashback",
  outcome: "refused",
  error: { code: "NOT_UNDOABLE", message: "cannot be undone: 0-1-9: DDL", retryable: false },
  message:
    "the extra transactions of db1 cannot be undone: 0-1-9: DDL: ALTER TABLE app.t ADD c INT; rebuild it (cmd.rebuild)",
  operation: null,
  candidates: null,
  events: [],
  assumptions: [],
  undo: {
    undoable: false,
    reason: "0-1-9: DDL: ALTER TABLE app.t ADD c INT",
    transactions: [
      {
        gtid: "0-1-8",
        undoable: true,
        reason: "",
        tables: [{ schema: "app", table: "t" }],
        rows: { insert: 1, update: 0, delete: 0 },
      },
      {
        gtid: "0-1-9",
        undoable: false,
        reason: "DDL: ALTER TABLE app.t ADD c INT",
        tables: [],
        rows: { insert: 0, update: 0, delete: 0 },
      },
    ],
    count: 2,
    tables: [{ schema: "app", table: "t" }],
    rows: { insert: 1, update: 0, delete: 0 },
  },
};

describe("a flashback dry-run", () => {
  it("lists each extra transaction with its verdict and the reason it falls back", () => {
    const text = formatDryRun(base, plain).join("\n");
    expect(text).toContain("flashback would be refused: NOT_UNDOABLE");
    expect(text).toContain("extra transactions (2): cannot be undone: 0-1-9: DDL");
    expect(text).toMatch(/0-1-8 {2}undo {2}app\.t {2}1 ins, 0 upd, 0 del/);
    expect(text).toMatch(/0-1-9 {2}no {4}- {2}0 ins, 0 upd, 0 del {2}DDL: ALTER TABLE/);
  });

  it("says when no verdict was saved", () => {
    expect(formatDryRun({ ...base, undo: null }, plain).join("\n")).toContain(
      "extra transactions: no saved verdict",
    );
  });
});
