import { LabError, LabErrorCode } from "./errors.js";

export type Row = Record<string, unknown>;

const IDENT = /^[A-Za-z0-9_]+$/;

/** Backquotes `name` or `db.name`; only the safe alphabet is accepted. */
export function quoteIdent(name: string): string {
  const parts = name.split(".");
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
    throw new LabError(LabErrorCode.BadOptions, `unsafe SQL identifier: ${JSON.stringify(name)}`);
  }
  return parts.map((p) => `\`${p}\``).join(".");
}

/** Connection names and node names: [A-Za-z0-9_-]. */
export function assertSafeName(name: string, what: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new LabError(LabErrorCode.BadOptions, `unsafe ${what}: ${JSON.stringify(name)}`);
  }
}

export function str(row: Row | undefined, key: string): string {
  const v = row?.[key];
  return v === null || v === undefined ? "" : String(v);
}

export function num(row: Row | undefined, key: string): number | null {
  const v = row?.[key];
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
