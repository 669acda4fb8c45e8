// The sandbox writer's counts, as the page shows them (only when the page is given the
// URL of a writer's stats: `?writer=<url>`; Marina itself does not write to the servers).
import type { WriterStats } from "./api-types.js";
import { formatAge } from "./format.js";

export interface WriterView {
  readonly target: string;
  readonly acknowledged: string;
  readonly lost: string;
  readonly lostTone: "ok" | "danger" | "unknown";
  readonly inDoubt: string;
  readonly refused: string;
  readonly rate: string;
  readonly checked: string;
  readonly lastError: string | null;
}

/** The stats when they look like the writer's, else null (a wrong URL, a proxy's page). */
export function parseWriterStats(x: unknown): WriterStats | null {
  if (typeof x !== "object" || x === null) return null;
  const o = x as Record<string, unknown>;
  const n = (k: string) => typeof o[k] === "number" && Number.isFinite(o[k]);
  if (!n("acknowledged") || !n("lost") || !n("inDoubt") || !n("refused") || !n("perSecond"))
    return null;
  return {
    target: typeof o.target === "string" ? o.target : null,
    acknowledged: o.acknowledged as number,
    refused: o.refused as number,
    inDoubt: o.inDoubt as number,
    lost: o.lost as number,
    checkedAt: typeof o.checkedAt === "string" ? o.checkedAt : null,
    perSecond: o.perSecond as number,
    lastError: typeof o.lastError === "string" ? o.lastError : null,
  };
}

export function writerView(w: WriterStats, now: number): WriterView {
  return {
    target: w.target ?? "none",
    acknowledged: w.acknowledged.toLocaleString("en-US"),
    lost: w.checkedAt === null ? "not checked yet" : w.lost.toLocaleString("en-US"),
    lostTone: w.checkedAt === null ? "unknown" : w.lost > 0 ? "danger" : "ok",
    inDoubt: w.inDoubt.toLocaleString("en-US"),
    refused: w.refused.toLocaleString("en-US"),
    rate: `${w.perSecond.toFixed(0)}/s`,
    checked: w.checkedAt === null ? "—" : formatAge(w.checkedAt, now),
    lastError: w.lastError,
  };
}
