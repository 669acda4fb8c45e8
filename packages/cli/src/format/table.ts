// Tables: boxed on a terminal, plain aligned columns otherwise (easy to grep and cut).
import Table from "cli-table3";
import type { Style } from "./style.js";

const PLAIN_CHARS = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "  ",
} as const;

export interface TableOptions {
  /** Box-drawing borders (a terminal); plain columns when false. */
  readonly boxed: boolean;
  readonly style: Style;
}

export function renderTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  o: TableOptions,
): string {
  const table = new Table({
    head: head.map((h) => o.style.bold(h)),
    // Colours are ours (picocolors, off under NO_COLOR): none from the table library.
    style: o.boxed
      ? { head: [], border: [], compact: true }
      : { head: [], border: [], compact: true, "padding-left": 0, "padding-right": 0 },
    ...(o.boxed ? {} : { chars: PLAIN_CHARS }),
  });
  for (const r of rows) table.push([...r]);
  // Plain columns end in padding; trailing blanks are noise in a pipe.
  return table
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n");
}
