import { type Connection, closeQuietly } from "./connection.js";
import { describeError } from "./errors.js";
import type { MariaNode } from "./mariadb-node.js";
import { num, quoteIdent, type Row } from "./sql.js";
import { waitFor } from "./wait.js";

export interface WriterOptions {
  /** Pause between writes. Default 20 ms. */
  readonly intervalMs?: number;
  /** Table in the app database. Default 'lab_writer'. */
  readonly table?: string;
  /** First id written. Default 1. */
  readonly firstId?: number;
  readonly connectTimeoutMs?: number;
  /** A write without an answer within this is recorded as in doubt. Default 5 s. */
  readonly socketTimeoutMs?: number;
  /** Called with each acknowledged id, performance.now() and the server that acknowledged it. */
  readonly onAck?: (id: number, at: number, node: string) => void;
}

export interface WriteFailure {
  readonly id: number;
  readonly node: string;
  readonly at: number;
  readonly message: string;
  readonly errno?: number;
  /**
   * True when the INSERT was sent but not acknowledged: it may or may not have committed.
   * False when no connection could be made (the row was certainly not written).
   */
  readonly inDoubt: boolean;
}

export interface WriterReport {
  readonly table: string;
  /** Acknowledged ids, increasing: each of these must survive any failover. */
  readonly acked: readonly number[];
  readonly failed: readonly WriteFailure[];
  readonly attempted: number;
}

export interface Writer extends WriterReport {
  /** Resolves once at least `count` writes have been acknowledged in total. */
  waitForAcks(count: number, timeoutMs?: number): Promise<void>;
  /** Stops after the write in flight; safe to call twice. */
  stop(): Promise<WriterReport>;
}

export type WriterTarget = MariaNode | (() => MariaNode);

export function writerTableDdl(qualified: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${qualified} (` +
    "id BIGINT UNSIGNED NOT NULL PRIMARY KEY, " +
    "node VARCHAR(64) NOT NULL, " +
    "created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB"
  );
}

function errnoOf(err: unknown): number | undefined {
  const v = (err as { errno?: unknown } | null)?.errno;
  return typeof v === "number" ? v : undefined;
}

/**
 * A background writer: one INSERT with an increasing id at a time, as the non-SUPER `app`
 * user over TCP, recording which ids were acknowledged and which failed. With a function
 * target it re-resolves the node after every failure, so it follows a failover.
 * The table is created first, as root on the initial target (so it replicates).
 */
export async function startWriter(target: WriterTarget, opts: WriterOptions = {}): Promise<Writer> {
  const resolve = typeof target === "function" ? target : () => target;
  const first = resolve();
  const table = opts.table ?? "lab_writer";
  const qualified = `${quoteIdent(first.credentials.app.database)}.${quoteIdent(table)}`;
  await first.query(writerTableDdl(qualified));

  const acked: number[] = [];
  const failed: WriteFailure[] = [];
  let attempted = 0;
  let nextId = opts.firstId ?? 1;
  let stopped = false;
  let wake: (() => void) | undefined;
  let conn: Connection | undefined;
  let connNode: MariaNode | undefined;
  /** The write in flight, for a timeout's message: which id, where, doing what, since when. */
  let inFlight: { id: number; node: string; step: string; since: number } | undefined;

  const pause = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });

  const connectTimeoutMs = opts.connectTimeoutMs ?? 1_000;
  const socketTimeoutMs = opts.socketTimeoutMs ?? 5_000;
  // The driver's own timeouts bound each step; this bounds the whole write even if a driver
  // promise never settled, so a stuck write is recorded (in doubt) instead of stalling the
  // writer with nothing to show.
  const writeBoundMs = connectTimeoutMs + socketTimeoutMs + 2_000;

  const writeOnce = async (id: number): Promise<string> => {
    const node = resolve();
    inFlight = { id, node: node.name, step: "connect", since: performance.now() };
    if (!conn || connNode !== node || !conn.isValid()) {
      await closeQuietly(conn);
      conn = undefined;
      conn = await node.connect({ user: "app", connectTimeoutMs, socketTimeoutMs });
      connNode = node;
    }
    inFlight = { id, node: node.name, step: "insert", since: performance.now() };
    await conn.query(`INSERT INTO ${qualified} (id, node) VALUES (?, ?)`, [id, node.name]);
    return node.name;
  };

  const loop = async () => {
    while (!stopped) {
      const id = nextId++;
      attempted++;
      let timer: NodeJS.Timeout | undefined;
      try {
        const bound = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${writeBoundMs} ms`)),
            writeBoundMs,
          );
        });
        const nodeName = await Promise.race([writeOnce(id), bound]);
        acked.push(id);
        opts.onAck?.(id, performance.now(), nodeName);
      } catch (err) {
        const errno = errnoOf(err);
        failed.push({
          id,
          node: inFlight?.node ?? "(unresolved)",
          at: Date.now(),
          message: describeError(err),
          inDoubt: inFlight?.step === "insert",
          ...(errno !== undefined ? { errno } : {}),
        });
        const broken = conn;
        conn = undefined;
        broken?.destroy();
      } finally {
        clearTimeout(timer);
        inFlight = undefined;
      }
      if (!stopped) await pause(opts.intervalMs ?? 20);
    }
    await closeQuietly(conn);
  };
  const running = loop();

  const report = (): WriterReport => ({ table, acked: [...acked], failed: [...failed], attempted });
  return {
    table,
    get acked() {
      return acked;
    },
    get failed() {
      return failed;
    },
    get attempted() {
      return attempted;
    },
    async waitForAcks(count: number, timeoutMs = 10_000) {
      await waitFor(() => acked.length >= count, {
        timeoutMs,
        message: `${count} acknowledged writes`,
        describe: () => {
          const w = inFlight;
          const now = w
            ? `; id ${w.id} on ${w.node} in ${w.step} for ${Math.round(performance.now() - w.since)} ms`
            : "";
          const last = failed.at(-1);
          const lastFailure = last
            ? `; last failure: id ${last.id} on ${last.node}: ${last.message}`
            : "";
          return `have ${acked.length}, failed ${failed.length}, attempted ${attempted}${now}${lastFailure}`;
        },
      });
    },
    async stop() {
      stopped = true;
      wake?.();
      await running;
      return report();
    },
  };
}

/** The ids among `ids` that are NOT in `table` on `node` (acknowledged writes that were lost). */
export async function findMissingIds(
  node: MariaNode,
  ids: readonly number[],
  table = "lab_writer",
): Promise<number[]> {
  if (ids.length === 0) return [];
  const qualified = `${quoteIdent(node.credentials.app.database)}.${quoteIdent(table)}`;
  const rows = await node.query<Row[]>(`SELECT id FROM ${qualified}`);
  const present = new Set(rows.map((r) => num(r, "id")));
  return ids.filter((id) => !present.has(id));
}
