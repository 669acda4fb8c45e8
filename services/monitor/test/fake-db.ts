// A fake MariaDB for unit tests of the prober and app (integration tests use real servers):
// servers that answer with recorded rows, refuse, freeze, or drop their connections.
import { EventEmitter } from "node:events";
import { type DbConnection, type DbTarget, DISKS_SQL, OLDEST_TRX_SQL } from "@marina/mariadb";

function fatal(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, fatal: true });
}

const DISK_ROWS = [{ disk: "sda", path: "/", total_kb: 100, available_kb: 40 }];

export class FakeConn extends EventEmitter implements DbConnection {
  destroyed = false;
  #pending = new Set<(err: Error) => void>();
  constructor(readonly server: FakeServer) {
    super();
  }
  query(sql: string): Promise<unknown> {
    if (this.destroyed) return Promise.reject(fatal("ER_CMD_CONNECTION_CLOSED", "closed"));
    this.server.queries++;
    if (this.server.state === "frozen") {
      return new Promise((_, reject) => this.#pending.add(reject));
    }
    if (sql === DISKS_SQL) {
      return this.server.disks
        ? Promise.resolve(DISK_ROWS)
        : Promise.reject(Object.assign(new Error("Unknown table 'DISKS'"), { errno: 1109 }));
    }
    if (sql === OLDEST_TRX_SQL) {
      const age = this.server.oldestTrxSeconds;
      return age !== undefined
        ? Promise.resolve([{ oldest_trx_seconds: age }])
        : Promise.reject(
            Object.assign(new Error("Access denied; you need the PROCESS privilege"), {
              errno: 1227,
            }),
          );
    }
    const failure = this.server.nextQueryError;
    if (failure) {
      this.server.nextQueryError = undefined;
      return Promise.reject(failure);
    }
    // The optional statements answer only when the probe asked for them, as a server does.
    const askedDisks = sql.includes(DISKS_SQL);
    const askedTrx = sql.includes(OLDEST_TRX_SQL);
    const trx = this.server.oldestTrxSeconds;
    if ((askedDisks && !this.server.disks) || (askedTrx && trx === undefined)) {
      // Refused now (a grant revoked, a plugin uninstalled): the whole statement list fails.
      return Promise.reject(
        Object.assign(new Error("Access denied; you need the PROCESS privilege"), {
          errno: 1227,
        }),
      );
    }
    const result = this.server.answers.shift() ?? this.server.result;
    const rows =
      askedDisks || askedTrx
        ? [
            ...(result as unknown[]),
            ...(askedDisks ? [DISK_ROWS] : []),
            ...(askedTrx ? [[{ oldest_trx_seconds: trx }]] : []),
          ]
        : result;
    if (this.server.delayMs === 0) return Promise.resolve(rows);
    const s = this.server;
    s.inFlight++;
    s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
    return new Promise((resolve) =>
      setTimeout(() => {
        s.inFlight--;
        resolve(rows);
      }, s.delayMs),
    );
  }
  /** The server went away under an idle or busy connection. */
  drop(): void {
    if (this.destroyed) return;
    const err = fatal("ER_SOCKET_UNEXPECTED_CLOSE", "socket has unexpectedly been closed");
    this.emit("error", err);
    this.destroy();
  }
  destroy(): void {
    this.destroyed = true;
    for (const reject of this.#pending) reject(fatal("ER_CMD_NOT_EXECUTED_DESTROYED", "destroyed"));
    this.#pending.clear();
  }
  async end(): Promise<void> {
    this.destroy();
  }
}

export class FakeServer {
  state: "up" | "down" | "frozen" = "up";
  connects = 0;
  queries = 0;
  disks = false;
  /** Age of the oldest InnoDB transaction; undefined: INNODB_TRX refused (no PROCESS). */
  oldestTrxSeconds: number | undefined;
  nextQueryError: Error | undefined;
  /** Answers for the next probes, in order, before `result` again. */
  answers: unknown[] = [];
  /** How long a probe query takes (0: at once). */
  delayMs = 0;
  inFlight = 0;
  /** Most probe queries ever running at once on this server. */
  maxInFlight = 0;
  readonly conns: FakeConn[] = [];
  constructor(
    readonly name: string,
    public result: unknown,
  ) {}
  kill(): void {
    this.state = "down";
    for (const c of this.conns) c.drop();
  }
  get open(): FakeConn[] {
    return this.conns.filter((c) => !c.destroyed);
  }
}

/** A connector over fake servers keyed by port. */
export function fakeConnector(byPort: Map<number, FakeServer>) {
  return async (t: DbTarget): Promise<DbConnection> => {
    const s = byPort.get(t.port);
    if (!s) throw fatal("ECONNREFUSED", `connect ECONNREFUSED ${t.host}:${t.port}`);
    s.connects++;
    if (s.state === "down") throw fatal("ECONNREFUSED", `connect ECONNREFUSED ${t.host}:${t.port}`);
    if (s.state === "frozen") {
      await new Promise((r) => setTimeout(r, t.connectTimeoutMs));
      throw fatal("ER_CONNECTION_TIMEOUT", "Connection timeout");
    }
    const c = new FakeConn(s);
    s.conns.push(c);
    return c;
  };
}
