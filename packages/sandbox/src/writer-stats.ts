// The sandbox's writer and its counts for the dashboard: a client writing through a
// failover, as an application would. It writes one row at a time as the non-SUPER `app`
// user to the writer the published topology names (so it follows a failover), and every
// few seconds checks which acknowledged writes the current writer no longer has (lost).
// Its counts are served as JSON on a loopback port of its own (with CORS, for the
// dashboard on the decider's port): the writer is the sandbox's, not Marina's, so the
// decider does not pretend to know them — the page shows them when given `?writer=<url>`.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  describeError,
  findMissingIds,
  type Lab,
  startWriter,
  type WriteFailure,
  type Writer,
} from "@marina/lab";
import type { Observer } from "./observer.js";
import { topologyWriter } from "./scenarios/topology-writer.js";

/** What `GET /writer.json` answers (the dashboard's WriterStats). */
export interface WriterStatsJson {
  target: string | null;
  acknowledged: number;
  refused: number;
  inDoubt: number;
  lost: number;
  checkedAt: string | null;
  perSecond: number;
  lastError: string | null;
}

export interface WriterStatsOptions {
  /** Pause between writes; default 50 ms. */
  intervalMs?: number;
  /** How often the acknowledged writes are checked on the writer; default 2 s. */
  checkEveryMs?: number;
  table?: string;
}

export interface RunningWriterStats {
  /** `http://127.0.0.1:<port>/writer.json`. */
  readonly url: string;
  readonly writer: Writer;
  stats(): WriterStatsJson;
  close(): Promise<void>;
}

const RATE_WINDOW_MS = 5000;

/**
 * Sent and not acknowledged: it may have committed. An error the server itself answered
 * (MariaDB's codes are below 4000; the connector's own, for a lost connection, from 45000)
 * means it did not: a write refused by read_only=1 is refused, not in doubt.
 */
function inDoubt(f: WriteFailure): boolean {
  return f.inDoubt && !(f.errno !== undefined && f.errno < 4000);
}

function clip(message: string | null): string | null {
  if (message === null) return null;
  const first = message.split(/ sql: |\n/)[0] ?? message;
  return first.length > 160 ? `${first.slice(0, 159)}…` : first;
}

export async function startWriterStats(
  lab: Lab,
  obs: Observer,
  initial: string,
  o: WriterStatsOptions = {},
): Promise<RunningWriterStats> {
  const table = o.table ?? "sandbox_writer";
  const target = topologyWriter(lab, obs, initial);
  const ackTimes: number[] = [];
  const writer = await startWriter(target, {
    table,
    intervalMs: o.intervalMs ?? 50,
    socketTimeoutMs: 3000,
    onAck: () => ackTimes.push(Date.now()),
  });
  let lost = 0;
  let checkedAt: string | null = null;
  let checkError: string | null = null;
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      const acked = [...writer.acked];
      lost = (await findMissingIds(target(), acked, table)).length;
      checkedAt = new Date().toISOString();
      checkError = null;
    } catch (err) {
      // The writer is down (a failover under way): the last count stands until it answers.
      checkError = describeError(err);
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(() => void check(), o.checkEveryMs ?? 2000);

  const stats = (): WriterStatsJson => {
    const now = Date.now();
    while (ackTimes.length > 0 && ackTimes[0]! < now - RATE_WINDOW_MS) ackTimes.shift();
    const failed = writer.failed;
    const last = failed.at(-1);
    const doubtful = failed.filter(inDoubt).length;
    return {
      target: target().name,
      acknowledged: writer.acked.length,
      refused: failed.length - doubtful,
      inDoubt: doubtful,
      lost,
      checkedAt,
      perSecond: ackTimes.length / (RATE_WINDOW_MS / 1000),
      lastError: clip(checkError ?? (last && now - last.at < 10_000 ? last.message : null)),
    };
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const headers = { "access-control-allow-origin": "*", "cache-control": "no-store" };
    if (req.method !== "GET" || path !== "/writer.json") {
      res.writeHead(404, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, "content-type": "application/json" });
    res.end(JSON.stringify(stats()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/writer.json`,
    writer,
    stats,
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await writer.stop();
    },
  };
}

/** The dashboard's address on a decider, with the writer's stats and (in the fragment) a token. */
export function dashboardUrl(apiUrl: string, o: { writerUrl?: string; token?: string } = {}) {
  const q = o.writerUrl ? `?writer=${encodeURIComponent(o.writerUrl)}` : "";
  const fragment = o.token ? `#token=${encodeURIComponent(o.token)}` : "";
  return `${apiUrl}/dashboard/${q}${fragment}`;
}
