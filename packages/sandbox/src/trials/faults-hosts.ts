// Faults on a database host's processes: kill -9, SIGSTOP, a slow server, the whole host
// frozen (mariadbd and its agent). The server may be the lab's own process or one its agent
// started (an agent process controls mariadbd by its argv and pid file): serverPid.
import { type MariaNode, sleep } from "@marina/lab";
import { agentHostOf, killPids, serverPid } from "../lab-agents.js";
import type { Stack } from "../stack.js";

/** How long a killed primary stays down before it is started again. */
export const PRIMARY_DOWN_MS = 3_000;

/** kill -9 the node's mariadbd, whoever started it, and wait until it is gone. */
export async function killServer(node: MariaNode): Promise<void> {
  if (node.isRunning()) {
    await node.kill9();
    return;
  }
  const pid = serverPid(node);
  if (pid !== undefined) await killPids([pid]);
}

/**
 * Starts the node's mariadbd again unless it runs (its agent may have started it). A start
 * that Marina's STONITH kills (a failover of this server still runs: seed 2006, a leading
 * decider killed mid-failover, delayed it past the restart) leaves it down: the trial
 * starts it again once it has been down RESTART_SEC_MS, as its service manager would.
 */
export async function restartServer(node: MariaNode): Promise<void> {
  if (serverPid(node) !== undefined) return;
  try {
    await node.start();
  } catch (err) {
    if (!/"signal":"SIGKILL"/.test(String(err))) throw err;
  }
}

/** SIGSTOP (frozen) or SIGCONT the node's mariadbd, whoever started it. */
export async function freezeServer(node: MariaNode, frozen: boolean): Promise<void> {
  if (node.isRunning()) {
    await (frozen ? node.sigstop() : node.sigcont());
    return;
  }
  const pid = serverPid(node);
  if (pid !== undefined) process.kill(pid, frozen ? "SIGSTOP" : "SIGCONT");
}

/** kill -9, and the server back `afterMs` later: resolves once it is back. */
export async function killAndRestart(node: MariaNode, afterMs: number): Promise<void> {
  await killServer(node);
  await sleep(afterMs);
  await restartServer(node);
}

/**
 * A slow but healthy primary: SIGSTOP for 600 ms, SIGCONT for 400 ms, for `ms`. Probes and
 * replicas still hear it within `queryTimeoutMs` (1 s) and `replicaQuietMs` (3 s): Marina
 * must NOT fail it over.
 */
export async function slowDown(node: MariaNode, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    await freezeServer(node, true);
    await sleep(600);
    await freezeServer(node, false);
    await sleep(400);
  }
}

/**
 * The whole host frozen: its mariadbd and its agent process SIGSTOPped together for `ms`,
 * then SIGCONT. Needs the stack's agents as processes.
 */
export async function freezeHost(stack: Stack, node: MariaNode, ms: number): Promise<string> {
  const agent = stack.spawned.get(agentHostOf(node.name));
  if (!agent) throw new Error(`freeze-host needs ${node.name}'s agent as a process`);
  agent.child.kill("SIGSTOP");
  await freezeServer(node, true);
  await sleep(ms);
  await freezeServer(node, false);
  agent.child.kill("SIGCONT");
  return `mariadbd and ${agentHostOf(node.name)} frozen`;
}
