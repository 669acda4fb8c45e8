// CPU time and resident memory of one OS process, read from /proc (Linux).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface ProcSample {
  /** User + system CPU time so far, in ms. */
  cpuMs: number;
  rssMiB: number;
  at: number;
}

export interface Usage {
  /** CPU time spent between the two samples, in ms. */
  cpuMs: number;
  /** Resident memory at the later sample. */
  rssMiB: number;
  wallMs: number;
}

let ticksPerSecond: number | undefined;
const clockTicks = (): number =>
  (ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()));

export function processUsage(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm)": state is field 3, utime 14 and stime 15 (1-based).
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(f[11]) + Number(f[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuMs: (ticks / clockTicks()) * 1000, rssMiB: rssKiB / 1024, at: performance.now() };
}

export function usageBetween(a: ProcSample, b: ProcSample): Usage {
  return { cpuMs: b.cpuMs - a.cpuMs, rssMiB: b.rssMiB, wallMs: b.at - a.at };
}
