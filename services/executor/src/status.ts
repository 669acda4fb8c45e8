// Judgements on a replication connection as @marina/mariadb maps it (the contracts'
// ReplicationConnection). Pure.
import type { ReplicationConnection } from "@marina/contracts";

/** True when the IO thread runs or is trying to (Connecting/Preparing count as running). */
export function ioRunning(c: ReplicationConnection): boolean {
  return c.ioThread !== "No";
}

/** Either thread is running: the connection must be stopped before it can be changed. */
export function anyThreadRunning(c: ReplicationConnection): boolean {
  return ioRunning(c) || c.sqlThread;
}
