// Durations as people type them: `500ms`, `30s`, `5m`, `1h`, `1h30m`, `7d`; a bare number is
// seconds.
import { CliError } from "./exit-codes.js";

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

export function parseDuration(text: string, flag: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== t) {
    throw new CliError(
      "USAGE",
      `${flag}: "${text}" is not a duration (e.g. 500ms, 30s, 5m, 1h, 7d)`,
      {
        path: flag,
      },
    );
  }
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]!]!, 0));
}

export function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new CliError("USAGE", `${flag}: "${text}" is not a whole number`, { path: flag });
  }
  return Number(text);
}

/** A decimal number (`30`, `0.5`); its range is the payload schema's to check. */
export function parseNumber(text: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(text.trim())) {
    throw new CliError("USAGE", `${flag}: "${text}" is not a number`, { path: flag });
  }
  return Number(text);
}
