// Reading typed values out of result rows. Pure. The connector returns numbers, strings,
// null, and (for system variables) 0/1 or 'ON'/'OFF' for booleans; these helpers accept
// each form and never throw, so one odd column cannot fail a whole inspection.

export type Row = Readonly<Record<string, unknown>>;

export function text(row: Row, key: string): string {
  const v = row[key];
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return String(v);
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

export function decimal(row: Row, key: string, fallback = 0): number {
  const v = row[key];
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return fallback;
}

/** A boolean system variable or status: 1/0, 'ON'/'OFF', 'YES'/'NO', 'TRUE'/'FALSE'. */
export function flag(row: Row, key: string): boolean {
  return isOn(row[key]);
}

export function isOn(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "bigint") return v !== 0n;
  if (typeof v === "string") return ["1", "ON", "YES", "TRUE"].includes(v.trim().toUpperCase());
  return false;
}

/** `SHOW VARIABLES`/`SHOW STATUS` rows as a name → value map (names lower-cased). */
export function nameValueMap(rows: readonly Row[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rows) out.set(text(r, "Variable_name").toLowerCase(), text(r, "Value"));
  return out;
}

/** `0-1-5,\n1-2-3` → `0-1-5,1-2-3`: MariaDB wraps long lists; the contracts want one line. */
export function gtidText(row: Row, key: string): string {
  return text(row, key)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .join(",");
}

export function clip(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max);
}
