// Reading typed values out of result rows by column. Pure, never throws; the coercions are
// @marina/mariadb's where they agree. Integers here are strict (a column that is not an
// integer is NULL to intOrNull), because steps compare thread ids and wait results.
import { bool, type Row, text as textOf } from "@marina/mariadb";

export type { Row };

export function text(row: Row, key: string): string {
  return textOf(row[key], Number.POSITIVE_INFINITY);
}

/** An integer column; `fallback` when NULL or not a number. */
export function int(row: Row, key: string, fallback = 0): number {
  const v = intOrNull(row, key);
  return v === null ? fallback : v;
}

export function intOrNull(row: Row, key: string): number | null {
  const v = row[key];
  if (typeof v === "number") return Number.isFinite(v) ? Math.trunc(v) : null;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" && /^-?[0-9]+$/.test(v.trim())) return Number(v.trim());
  return null;
}

/** A boolean system variable or status: 1/0, 'ON'/'OFF', 'YES'/'NO', 'TRUE'/'FALSE'. */
export function flag(row: Row, key: string): boolean {
  return bool(row[key]);
}
