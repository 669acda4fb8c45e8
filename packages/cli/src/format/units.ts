// Numbers for people: bytes, rates, durations, times of day (UTC, as logs and events are).

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

export function formatBytes(n: number): string {
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${UNITS[i]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** 850 ms, 3.2 s, 4 min 05 s, 2 h 03 min. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** `12:00:01Z` for a time of the same UTC day as `now`, else `2026-11-20 12:00:01Z`. */
export function formatClock(at: Date | string, now: Date = new Date()): string {
  const d = typeof at === "string" ? new Date(at) : at;
  if (Number.isNaN(d.getTime())) return String(at);
  const iso = d.toISOString();
  const sameDay = iso.slice(0, 10) === now.toISOString().slice(0, 10);
  return sameDay ? `${iso.slice(11, 19)}Z` : `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** `12:00:01.123Z`: a line of a live stream, where the milliseconds tell the order. */
export function formatStamp(at: Date): string {
  return `${at.toISOString().slice(11, 23)}Z`;
}
