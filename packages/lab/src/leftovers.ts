import { readdirSync, readFileSync } from "node:fs";
import { LAB_DIR_MARKER } from "./temp-tree.js";

export interface LabProcess {
  readonly pid: number;
  readonly cmdline: string;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ..." — comm may contain spaces, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function selfAndAncestors(): Set<number> {
  const out = new Set<number>();
  let pid: number | undefined = process.pid;
  while (pid !== undefined && !out.has(pid)) {
    out.add(pid);
    pid = parentOf(pid);
  }
  return out;
}

/**
 * Processes whose command line contains `marker` (default `marina-lab-`), excluding this
 * process and its ancestors (a shell whose command mentions the marker is not a leftover).
 */
export function findLabProcesses(marker: string = LAB_DIR_MARKER): LabProcess[] {
  const skip = selfAndAncestors();
  const out: LabProcess[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (skip.has(pid)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
    } catch {
      continue;
    }
    if (cmdline.includes(marker)) out.push({ pid, cmdline });
  }
  return out;
}

/** SIGCONT + SIGKILL each process; ignores those already gone. */
export function killProcesses(procs: readonly LabProcess[]): void {
  for (const p of procs) {
    for (const sig of ["SIGCONT", "SIGKILL"] as const) {
      try {
        process.kill(p.pid, sig);
      } catch {
        // gone
      }
    }
  }
}
