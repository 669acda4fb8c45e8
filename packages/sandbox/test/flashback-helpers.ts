// What the flashback tests share: a stack that saves binlogs, the executors' grants for a
// flashback, a table's checksum.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Lab, MariaNode } from "@marina/lab";
import { afterAll, beforeAll } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, type StackOptions, startStack } from "../src/stack.js";

/**
 * docs/security.md: where saveBinlogs is set, the executors' account dumps the binlogs
 * (REPLICATION SLAVE, BINLOG MONITOR); a flashback also applies the reverse (BINLOG REPLAY,
 * and BINLOG ADMIN for sql_log_bin=0 and gtid_binlog_state) and compares tables (SELECT).
 */
export async function grantFlashback(lab: Lab): Promise<void> {
  for (const n of lab.nodes) {
    await n.query("SET SESSION sql_log_bin=0");
    await n.query(
      `GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR, BINLOG REPLAY, BINLOG ADMIN ON *.* TO '${lab.credentials.marina.user}'@'%'`,
    );
    await n.query("SET SESSION sql_log_bin=1");
  }
}

/** CHECKSUM TABLE of `table` (`db.name`). */
export async function checksum(node: MariaNode, table: string): Promise<string> {
  const [r] = await node.query<Array<{ Checksum: unknown }>>(`CHECKSUM TABLE ${table}`);
  return String(r?.Checksum);
}

export interface SavingStack {
  readonly stack: Stack;
  readonly obs: Observer;
  /** clusters[].saveBinlogs.dir: a fresh directory, removed afterwards. */
  readonly saveDir: string;
}

/**
 * A stack whose executors save diverged servers' binlogs into a fresh directory, with an
 * observer of its events; started before the describe's tests, closed and removed after.
 */
export function useSavingStack(prefix: string, opts: StackOptions): () => SavingStack {
  let s: SavingStack | undefined;
  beforeAll(async () => {
    const saveDir = join(await mkdtemp(join(tmpdir(), `marina-${prefix}-`)), "saved");
    const stack = await startStack({
      ...opts,
      config: { ...opts.config, saveBinlogs: { ...opts.config?.saveBinlogs, dir: saveDir } },
    });
    s = { stack, obs: observe(stack.nc, "main"), saveDir };
  });
  afterAll(async () => {
    s?.obs.close();
    await s?.stack.close();
    if (s) await rm(join(s.saveDir, ".."), { recursive: true, force: true });
  });
  return () => {
    if (!s) throw new Error("useSavingStack: not started yet");
    return s;
  };
}
