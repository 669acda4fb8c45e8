import { rmSync } from "node:fs";

/**
 * Last line of defence against orphans when the owner never calls close(): on process exit
 * (and on SIGINT/SIGTERM/SIGHUP when nobody else handles them) every guarded process is
 * killed and every guarded directory removed, synchronously. Processes are also started
 * under `setpriv --pdeathsig KILL`, which covers a SIGKILLed owner.
 */
interface Guarded {
  readonly pid: number;
  isRunning(): boolean;
}

const processes = new Set<Guarded>();
const dirs = new Set<string>();
const cleanups = new Set<() => void>();
let installed = false;
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export function guardProcess(p: Guarded): void {
  install();
  processes.add(p);
}

export function releaseProcess(p: Guarded): void {
  processes.delete(p);
}

export function guardDir(dir: string): void {
  install();
  dirs.add(dir);
}

export function releaseDir(dir: string): void {
  dirs.delete(dir);
}

/**
 * A synchronous teardown (e.g. a lab network's namespaces) run at exit after the guarded
 * processes are killed; release it once the owner tore down by itself.
 */
export function guardCleanup(fn: () => void): void {
  install();
  cleanups.add(fn);
}

export function releaseCleanup(fn: () => void): void {
  cleanups.delete(fn);
}

/**
 * Kills every guarded process, runs every guarded cleanup and removes every guarded
 * directory, synchronously.
 */
export function cleanupSync(): void {
  for (const p of processes) {
    if (!p.isRunning()) continue;
    // Each lab process leads its own process group: kill the group (helpers included).
    for (const sig of ["SIGCONT", "SIGKILL"] as const) {
      try {
        process.kill(-p.pid, sig);
      } catch {
        try {
          process.kill(p.pid, sig);
        } catch {
          // already gone
        }
      }
    }
  }
  processes.clear();
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // best effort at exit
    }
  }
  cleanups.clear();
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
    } catch {
      // best effort at exit
    }
  }
  dirs.clear();
}

function onSignal(sig: NodeJS.Signals): void {
  // If someone else listens, they own the shutdown (e.g. the CLI closes the lab gracefully);
  // the exit hook still runs after them.
  if (process.listenerCount(sig) > 1) return;
  cleanupSync();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, sig);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", cleanupSync);
  for (const s of SIGNALS) process.on(s, onSignal);
}
