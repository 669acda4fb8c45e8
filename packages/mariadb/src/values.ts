// Tolerant coercion of result values. The connector returns numbers, strings, null, buffers;
// SHOW output and system variables mix them across server versions (1/0, ON/OFF, YES/NO).
// These never throw, so one odd column cannot fail a whole observation.

export type Row = Readonly<Record<string, unknown>>;

export const MAX_TEXT = 4096;

export function text(v: unknown, max = MAX_TEXT): string {
  if (v === null || v === undefined) return "";
  const s =
    typeof v === "string" ? v : v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v);
  return s.length > max ? s.slice(0, max) : s;
}

export function num(v: unknown, fallback = 0): number {
  if (typeof v === "number") return Number.isFinite(v) ? v : fallback;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v);
    return Number.isFinite(n) ? n : fallback;
  }
  return fallback;
}

export function nonNegInt(v: unknown): number {
  return Math.max(0, Math.trunc(num(v)));
}

/** MariaDB spells booleans as 1/0, ON/OFF, YES/NO or true/false depending on the source. */
export function bool(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "number" || typeof v === "bigint") return Number(v) !== 0;
  const s = text(v).trim().toUpperCase();
  return s === "ON" || s === "YES" || s === "1" || s === "TRUE";
}

/** `0-1-5,\n1-2-3` → `0-1-5,1-2-3`: MariaDB wraps long lists; the contracts want one line. */
export function gtidText(v: unknown): string {
  return text(v, 65536)
    .split(",")
    .map((s) => s.replace(/\s+/g, ""))
    .filter((s) => s !== "")
    .join(",");
}
