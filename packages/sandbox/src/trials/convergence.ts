// When a trial is over: one writable server, every other replicating from it or flagged
// diverged by the decider (cmd.status); a server Marina killed is started again first.
import { type MariaNode, sleep } from "@marina/lab";
import { serverPid } from "../lab-agents.js";
import type { Stack } from "../stack.js";

type Row = Record<string, unknown>;

async function readOnly(node: MariaNode): Promise<boolean | undefined> {
  try {
    const [r] = (await node.query("SELECT @@global.read_only AS ro", undefined, {
      timeoutMs: 1_000,
    })) as Row[];
    return Number(r?.ro) === 1;
  } catch {
    return undefined; // down, frozen or unreachable
  }
}

export async function replicatesFrom(node: MariaNode, source: MariaNode): Promise<boolean> {
  try {
    const rows = (await node.query("SHOW ALL SLAVES STATUS", undefined, {
      timeoutMs: 1_000,
    })) as Row[];
    return rows.some(
      (r) =>
        r.Master_Host === source.host &&
        Number(r.Master_Port) === source.port &&
        r.Slave_IO_Running === "Yes" &&
        r.Slave_SQL_Running === "Yes",
    );
  } catch {
    return false;
  }
}

/** The decider's `diverged` map (cmd.status). */
export async function flaggedDiverged(stack: Stack): Promise<Set<string>> {
  try {
    const m = await stack.nc.request("marina.v1.main.cmd.status", "{}", { timeout: 2_000 });
    const data = (JSON.parse(m.string()) as { payload?: { data?: { diverged?: object } } }).payload
      ?.data;
    return new Set(Object.keys(data?.diverged ?? {}));
  } catch {
    return new Set();
  }
}

/**
 * One writable server, and every other either replicating from it or flagged diverged:
 * its name, or undefined while that does not hold.
 */
export async function converged(stack: Stack): Promise<string | undefined> {
  const nodes = stack.lab.nodes;
  const ro = await Promise.all(nodes.map(readOnly));
  const writable = nodes.filter((_, i) => ro[i] === false);
  if (writable.length !== 1) return undefined;
  const w = writable[0]!;
  const diverged = await flaggedDiverged(stack);
  for (const n of nodes) {
    if (n === w || diverged.has(n.name)) continue;
    if (!(await replicatesFrom(n, w))) return undefined;
  }
  return w.name;
}

/**
 * How long a killed server stays down before it is started again: MariaDB's systemd unit
 * restarts a server that died of a signal after RestartSec=5s.
 */
export const RESTART_SEC_MS = 5_000;

export interface Convergence {
  /** The writable server, or undefined when the bound passed first. */
  readonly winner: string | undefined;
  /** From the call to convergence. */
  readonly ms: number | null;
  /** Servers found down (Marina's STONITH killed them) and started again meanwhile. */
  readonly restarted: readonly string[];
}

/**
 * Waits up to `boundMs` for convergence. A server found down meanwhile — killed by Marina
 * (STONITH through its agent): the trial's own kills are over — is started again once it
 * has been down RESTART_SEC_MS, as its service manager would; only then can it rejoin or
 * be found diverged.
 */
export async function waitConverged(stack: Stack, boundMs: number): Promise<Convergence> {
  const from = performance.now();
  const downSince = new Map<string, number>();
  const restarted: string[] = [];
  while (performance.now() - from < boundMs) {
    const winner = await converged(stack);
    if (winner) return { winner, ms: Math.round(performance.now() - from), restarted };
    for (const node of stack.lab.nodes) {
      if (serverPid(node) !== undefined) {
        downSince.delete(node.name);
        continue;
      }
      const since = downSince.get(node.name) ?? performance.now();
      downSince.set(node.name, since);
      if (performance.now() - since >= RESTART_SEC_MS) {
        downSince.delete(node.name);
        restarted.push(node.name);
        await node.start().catch(() => {});
      }
    }
    await sleep(250);
  }
  return { winner: undefined, ms: null, restarted };
}
