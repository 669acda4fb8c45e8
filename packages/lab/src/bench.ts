// Benchmark reporting in the shape shared/BENCH.md gives: stats, a printed table, and
// bench/results/<name>.json. Used as `@marina/lab/bench`.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

export interface Stat {
  median: number;
  p95: number;
  max: number;
  min: number;
  n: number;
  unit: string;
}

/** Nearest-rank percentile of a non-empty sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function stat(values: readonly number[], unit: string): Stat {
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    median: round(median(values)),
    p95: round(percentile(values, 95)),
    max: round(Math.max(...values)),
    min: round(Math.min(...values)),
    n: values.length,
    unit,
  };
}

function mariadbVersion(): string | null {
  try {
    const out = execFileSync("mariadbd", ["--version"], { encoding: "utf8" });
    return /Ver\s+([0-9.]+)/.exec(out)?.[1] ?? out.trim();
  } catch {
    return null;
  }
}

export interface BenchReport {
  name: string;
  settings: Record<string, unknown>;
  trials: number;
  metrics: Record<string, Stat>;
  ratios?: Record<string, number>;
  notes?: string[];
}

/** Prints the table and writes bench/results/<name>.json (relative to cwd or MARINA_ROOT). */
export function writeBenchReport(
  report: BenchReport,
  root = process.env.MARINA_ROOT ?? ".",
): string {
  const doc = {
    name: report.name,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      mariadb: mariadbVersion(),
    },
    settings: report.settings,
    trials: report.trials,
    metrics: report.metrics,
    ratios: report.ratios ?? {},
    notes: report.notes ?? [],
  };
  const dir = join(root, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${report.name}.json`);
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  const rows = Object.entries(report.metrics).map(
    ([k, s]) =>
      `${k.padEnd(40)} ${String(s.median).padStart(10)} ${String(s.p95).padStart(10)} ${String(s.max).padStart(10)}  ${s.unit} (n=${s.n})`,
  );
  console.log(`\n${report.name}: ${report.trials} trials`);
  console.log(
    `${"metric".padEnd(40)} ${"median".padStart(10)} ${"p95".padStart(10)} ${"max".padStart(10)}`,
  );
  for (const r of rows) console.log(r);
  for (const [k, v] of Object.entries(report.ratios ?? {})) console.log(`ratio ${k}: ${v}`);
  for (const n of report.notes ?? []) console.log(`note: ${n}`);
  console.log(`wrote ${file}`);
  return file;
}
