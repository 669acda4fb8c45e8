// A small simulated MariaDB cluster (one GTID domain) for the decider's tests: servers with
// binlogs, relay logs and replication connections, faults (kill, freeze, monitor-only
// partition), an executor that applies steps to it, and a monitor that samples it.
// It models what the decider's safety rules are about — positions, read_only, who
// replicates from whom — not MariaDB in full.
import type {
  ClusterConfig,
  ExecRequest,
  ExecResult,
  HealthSample,
  ReplicationConnection,
  ServerObservation,
  UndoVerdict,
} from "@marina/contracts";
import { parseGtidList } from "@marina/contracts";
import type { Action } from "../src/index.js";
import { type Driver, obs, portOf, type StepAction, sample } from "./helpers.js";

export interface SimConn {
  name: string;
  source: string;
  io: boolean;
  sql: boolean;
  relay: string[];
  /** Last GTID received on this connection. */
  ioPos: string;
  ioErr: number;
  ioError: string;
  sqlErr: number;
  sqlError: string;
  until: string | null;
  usingGtid: "Slave_Pos" | "Current_Pos";
  lastHeard: number;
  lag: number | null;
  /** MASTER_DELAY, seconds: reported in monitors' samples (SQL_Delay), not in inspections. */
  delay?: number;
}

export interface SimServer {
  name: string;
  serverId: number;
  alive: boolean;
  frozen: boolean;
  readOnly: boolean;
  logBin: boolean;
  logSlaveUpdates: boolean;
  applied: string[];
  binlog: string[];
  slavePos: string;
  conns: SimConn[];
  semiMaster: boolean;
  semiSlave: boolean;
  /** Strict semi-sync settings (timeout at its maximum, wait_no_slave on). */
  semiStrict: boolean;
  failures: number;
}

const seqOf = (g: string) => Number(g.split("-")[2]);
const serverIdOf = (g: string) => Number(g.split("-")[1]);
const last = (l: string[]) => l[l.length - 1] ?? "";

export class World {
  now: number;
  servers: Record<string, SimServer> = {};
  /** Running servers the monitor cannot reach (a partition of the monitor only). */
  hidden = new Set<string>();
  /** Steps executed, for assertions. */
  executed: ExecRequest[] = [];
  /** What a save says of the extra transactions (null: an executor that does not judge). */
  saveVerdict: UndoVerdict | null = {
    undoable: true,
    reason: "",
    transactions: [],
    count: 1,
    tables: [{ schema: "app", table: "t" }],
    rows: { insert: 1, update: 0, delete: 0 },
  };

  constructor(
    readonly config: ClusterConfig,
    now: number,
    opts: { primary?: string; writes?: number; noLogSlaveUpdates?: string[] } = {},
  ) {
    this.now = now;
    const primary = opts.primary ?? config.servers[0]!.name;
    config.servers.forEach((s, i) => {
      this.servers[s.name] = {
        name: s.name,
        serverId: i + 1,
        alive: true,
        frozen: false,
        readOnly: s.name !== primary,
        logBin: true,
        logSlaveUpdates: !(opts.noLogSlaveUpdates ?? []).includes(s.name),
        applied: [],
        binlog: [],
        slavePos: "",
        conns: s.name === primary ? [] : [this.newConn("", primary)],
        semiMaster: false,
        semiSlave: false,
        semiStrict: false,
        failures: 0,
      };
      for (const c of this.servers[s.name]!.conns) {
        c.io = true;
        c.sql = true;
      }
    });
    this.write(primary, opts.writes ?? 10);
    this.flow();
  }

  s(name: string): SimServer {
    const s = this.servers[name];
    if (!s) throw new Error(`no server ${name}`);
    return s;
  }

  private newConn(name: string, source: string): SimConn {
    return {
      name,
      source,
      io: false,
      sql: false,
      relay: [],
      ioPos: "",
      ioErr: 0,
      ioError: "",
      sqlErr: 0,
      sqlError: "",
      until: null,
      usingGtid: "Slave_Pos",
      lastHeard: this.now,
      lag: 0,
    };
  }

  running(name: string): boolean {
    const s = this.s(name);
    return s.alive && !s.frozen;
  }

  /** Client writes on a server; refused (nothing written) when read-only or down. */
  write(name: string, n = 1): string[] {
    const s = this.s(name);
    if (!this.running(name) || s.readOnly) return [];
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const g = `0-${s.serverId}-${seqOf(last(s.applied) || "0-0-0") + 1}`;
      s.applied.push(g);
      if (s.logBin) s.binlog.push(g);
      out.push(g);
    }
    return out;
  }

  /** Replication runs to completion everywhere it can. */
  flow(rounds = 6) {
    for (let r = 0; r < rounds; r++) {
      for (const s of Object.values(this.servers)) {
        if (!this.running(s.name)) continue;
        for (const c of s.conns) {
          this.fetch(s, c);
          this.apply(s, c);
        }
      }
    }
  }

  /** Only the given server's connections move (e.g. during a wait step). */
  flowOn(name: string) {
    const s = this.s(name);
    if (!this.running(name)) return;
    for (let r = 0; r < 3; r++) {
      for (const c of s.conns) {
        this.fetch(s, c);
        this.apply(s, c);
      }
    }
  }

  private fetch(s: SimServer, c: SimConn) {
    if (!c.io) return;
    const src = this.servers[c.source];
    if (!src || !this.running(src.name)) return;
    c.lastHeard = this.now;
    const from =
      last(c.relay) || c.ioPos || (c.usingGtid === "Current_Pos" ? last(s.applied) : s.slavePos);
    let idx = -1;
    if (from !== "") {
      idx = src.binlog.indexOf(from);
      if (idx < 0) {
        c.io = false;
        c.ioErr = 1236;
        c.ioError = `Error: connecting slave requested to start from GTID ${from}, which is not in the master's binlog`;
        return;
      }
    }
    let events = src.binlog.slice(idx + 1);
    if (c.until !== null) {
      const u = events.indexOf(c.until);
      if (u >= 0) events = events.slice(0, u + 1);
      else if (events.length && seqOf(last(events)) > seqOf(c.until)) events = [];
    }
    for (const g of events) {
      c.relay.push(g);
      c.ioPos = g;
    }
  }

  private apply(s: SimServer, c: SimConn) {
    if (!c.sql || c.sqlErr) return;
    while (c.relay.length) {
      const g = c.relay[0]!;
      if (s.applied.includes(g)) {
        c.relay.shift();
        continue;
      }
      const cur = last(s.applied);
      if (cur !== "" && seqOf(g) <= seqOf(cur)) {
        c.sqlErr = 1950;
        c.sqlError = `An attempt was made to binlog GTID ${g} which would create an out-of-order sequence number with existing GTID ${cur}`;
        c.sql = false;
        return;
      }
      s.applied.push(g);
      if (s.logBin && s.logSlaveUpdates) s.binlog.push(g);
      s.slavePos = g;
      c.relay.shift();
      if (c.until !== null && g === c.until) {
        c.sql = false;
        c.io = false;
        return;
      }
    }
  }

  kill(name: string) {
    this.s(name).alive = false;
  }

  /** mariadbd comes back; a primary without read_only in its config comes back writable. */
  restart(name: string, readOnly: boolean) {
    const s = this.s(name);
    s.alive = true;
    s.frozen = false;
    s.readOnly = readOnly;
    s.failures = 0;
    for (const c of s.conns) c.lastHeard = this.now;
  }

  freeze(name: string) {
    this.s(name).frozen = true;
  }

  /** Milliseconds pass: monitors see replicas' quiet time grow when their source stopped. */
  advance(ms: number) {
    this.now += ms;
  }

  /** What a monitor reads: the observation with each connection's SQL_Delay. */
  monitorObservation(name: string): ServerObservation {
    const o = this.observation(name);
    const s = this.s(name);
    return {
      ...o,
      replication: o.replication.map((c) => ({
        ...c,
        sqlDelay: s.conns.find((x) => x.name === c.connection)?.delay ?? 0,
      })),
    };
  }

  observation(name: string): ServerObservation {
    const s = this.s(name);
    const state = new Map<number, string>();
    for (const g of s.binlog) state.set(serverIdOf(g), g);
    const replication: ReplicationConnection[] = s.conns.map((c) => {
      const src = this.servers[c.source];
      const srcUp = src !== undefined && this.running(src.name);
      // A killed source resets the connection at once; a frozen one is only noticed later.
      const ioThread: ReplicationConnection["ioThread"] = !c.io
        ? "No"
        : src?.alive
          ? "Yes"
          : "Connecting";
      const quiet = srcUp && c.io ? 0 : this.now - c.lastHeard;
      return {
        connection: c.name,
        masterHost: "127.0.0.1",
        masterPort: portOf(this.config, c.source),
        ioThread,
        sqlThread: c.sql,
        ioState: "",
        sqlState: "",
        usingGtid: c.usingGtid,
        gtidIoPos: c.ioPos,
        secondsBehindMaster: c.io && c.sql && ioThread === "Yes" ? c.relay.length : null,
        lastIoErrno: c.ioErr,
        lastIoError: c.ioError,
        lastSqlErrno: c.sqlErr,
        lastSqlError: c.sqlError,
        heartbeatPeriodSec: 1,
        receivedHeartbeats: 0,
        quietMs: quiet,
        relayLogSpace: c.relay.length * 100,
      };
    });
    return obs({
      serverId: s.serverId,
      readOnly: s.readOnly,
      logBin: s.logBin,
      logSlaveUpdates: s.logSlaveUpdates,
      gtidBinlogPos: last(s.binlog),
      gtidBinlogState: [...state.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, g]) => g)
        .join(","),
      gtidCurrentPos: last(s.applied),
      gtidSlavePos: s.slavePos,
      semiSync: {
        masterEnabled: s.semiMaster,
        masterStatus: s.semiMaster,
        masterClients: 0,
        slaveEnabled: s.semiSlave,
        slaveStatus: s.semiSlave,
        masterWaitPoint: "AFTER_SYNC",
        masterTimeoutMs: s.semiStrict ? Number.MAX_SAFE_INTEGER : 10_000,
      },
      replication,
    });
  }

  /** What monitor `monitor` sees of a server now. */
  sampleOf(name: string, monitor = "m1"): HealthSample {
    const s = this.s(name);
    const reachable = this.running(name) && !this.hidden.has(name);
    s.failures = reachable ? 0 : s.failures + 1;
    return sample(this.config, name, reachable ? this.monitorObservation(name) : null, {
      monitor,
      failures: s.failures,
      kind: s.frozen || this.hidden.has(name) ? "timeout" : "refused",
    });
  }

  /** The executor: applies one step and answers like services/executor would. */
  exec(req: ExecRequest): ExecResult {
    this.executed.push(req);
    const ok = (data: Record<string, unknown> = {}): ExecResult => ({
      stepId: req.stepId,
      ok: true,
      executor: "sim",
      durationMs: 1,
      data,
      error: null,
    });
    const fail = (
      code: "SQL_ERROR" | "TIMEOUT" | "SERVER_UNREACHABLE",
      message: string,
    ): ExecResult => ({
      stepId: req.stepId,
      ok: false,
      executor: "sim",
      durationMs: 1,
      data: {},
      error: { code, message, retryable: code !== "SQL_ERROR" },
    });
    if (!this.running(req.server)) return fail("SERVER_UNREACHABLE", `${req.server} is down`);
    const s = this.s(req.server);
    const step = req.step;
    const find = (name: string) => s.conns.find((c) => c.name === name);
    switch (step.kind) {
      case "inspect":
        return ok(this.observation(req.server) as unknown as Record<string, unknown>);
      case "set-read-only":
        s.readOnly = step.readOnly;
        return ok();
      case "kill-clients":
        return ok({ killed: 0 });
      case "fence": {
        // Answers like the executor: read_only on, semi-sync master off after, as before.
        const previous = { readOnly: s.readOnly, master: s.semiMaster };
        s.readOnly = true;
        const semiOff = previous.master && step.semiSync !== "keep";
        if (semiOff) s.semiMaster = false;
        const changed = !previous.readOnly || semiOff;
        return ok({ readOnly: true, previous, changed, killed: [], killRounds: 1 });
      }
      case "stop-replication": {
        const c = find(step.connection);
        if (c) {
          c.io = false;
          c.sql = false;
        }
        return ok();
      }
      case "reset-replication":
        s.conns = s.conns.filter((c) => c.name !== step.connection);
        return ok();
      case "change-master": {
        const fresh = this.newConn(step.connection, step.source);
        fresh.usingGtid = step.useGtid === "current_pos" ? "Current_Pos" : "Slave_Pos";
        s.conns = [...s.conns.filter((c) => c.name !== step.connection), fresh];
        return ok();
      }
      case "start-replication": {
        const c = find(step.connection);
        if (!c) return fail("SQL_ERROR", `1617 There is no master connection '${step.connection}'`);
        c.io = true;
        c.sql = true;
        c.ioErr = 0;
        c.ioError = "";
        c.until = step.untilGtid ?? null;
        this.flowOn(req.server);
        return ok();
      }
      case "set-gtid-slave-pos":
        s.slavePos = step.pos;
        return ok();
      case "wait-gtid": {
        this.flow();
        const want = step.pos.split(",").filter(Boolean);
        return want.every((g) => s.applied.includes(g))
          ? ok({ result: 0 })
          : fail("TIMEOUT", `MASTER_GTID_WAIT(${step.pos}) timed out at ${last(s.applied)}`);
      }
      case "drain-relay-log": {
        const c = find(step.connection);
        if (c) {
          if (c.sqlErr) return fail("SQL_ERROR", `SQL thread error ${c.sqlErr}`);
          const io = c.io;
          c.io = false; // drain only what was received
          const sql = c.sql;
          c.sql = true;
          this.apply(s, c);
          c.sql = sql;
          c.io = io;
        }
        return ok();
      }
      case "set-semi-sync": {
        // Answers like the executor: the settings now and before.
        const previous = { master: s.semiMaster, slave: s.semiSlave };
        if (step.strict) s.semiStrict = true;
        if (step.master !== undefined) s.semiMaster = step.master;
        if (step.slave !== undefined) s.semiSlave = step.slave;
        return ok({ master: s.semiMaster, slave: s.semiSlave, previous });
      }
      case "wait-binlog-stable":
        return ok({ gtidBinlogPos: last(s.binlog) });
      case "verify-replicating": {
        this.flow();
        const c = find(step.connection);
        if (!c) return fail("SQL_ERROR", `no connection '${step.connection}'`);
        const src = this.servers[c.source];
        if (!c.io || !c.sql || c.sqlErr || !src || !this.running(src.name)) {
          return fail(
            "SQL_ERROR",
            `not replicating: IO ${c.io ? "Yes" : "No"} ${c.ioErr ? `${c.ioErr} ${c.ioError}` : ""} SQL ${c.sql ? "Yes" : "No"} ${c.sqlErr ? `${c.sqlErr} ${c.sqlError}` : ""}`,
          );
        }
        return ok();
      }
      // The world keeps no files: a save reports one file and what it was asked to save.
      case "save-binlogs":
        return ok({
          path: `/saved/main-${req.server}-${req.opId}`,
          files: [{ name: "binlog.000002", bytes: 900 }],
          decoded: { name: "extra-transactions.sql", bytes: 3000 },
          decodedFrom: step.forkPoint === "" ? "files" : "fork",
          extraGtids: step.extraGtids,
          gtids: { count: 1, first: step.extraGtids, last: step.extraGtids },
          startPosition: step.forkPoint,
          complete: true,
          executor: "sim",
          ...(this.saveVerdict ? { undo: this.saveVerdict } : {}),
        });
      // The world keeps no rows: a flashback drops the extra GTIDs (those of the extra
      // (domain, server) pairs after the fork, up to the extra one); tables always compare equal.
      case "flashback": {
        if (!s.readOnly) return fail("SQL_ERROR", `${req.server} is writable`);
        const extra = parseGtidList(step.extraGtids);
        const fork = parseGtidList(step.forkPoint);
        const isExtra = (g: string) => {
          const [x] = parseGtidList(g);
          const e = extra.find((y) => y.domain === x!.domain && y.server === x!.server);
          const f = fork.find((y) => y.domain === x!.domain && y.server === x!.server);
          return e !== undefined && x!.seq <= e.seq && x!.seq > (f?.seq ?? 0n);
        };
        const undone = s.binlog.filter(isExtra);
        const before = last(s.binlog);
        s.applied = s.applied.filter((g) => !isExtra(g));
        s.binlog = s.binlog.filter((g) => !isExtra(g));
        const verdict = { ...(this.saveVerdict as UndoVerdict), count: undone.length };
        return ok({
          path: `/saved/main-${req.server}-${req.opId}-flashback`,
          alreadyDone: undone.length === 0,
          verdict,
          stateBefore: before,
          stateAfter: last(s.binlog),
          binlogPos: last(s.binlog),
          executor: "sim",
        });
      }
      case "compare-tables": {
        const src = this.s(step.source);
        return ok({
          gtid: last(src.binlog),
          tables: step.tables.map((t) => ({ ...t, server: "1", source: "1", equal: true })),
          equal: true,
        });
      }
      // Provisioning runs beside the core (the decider service): never sent by a plan here.
      case "set-replication-filter":
      case "replace-gtid-domains":
      case "drop-databases":
        return fail("SQL_ERROR", `${step.kind} is not simulated`);
      // Hooks touch no server (the world configures none; a hook that runs exits 0).
      case "run-hook":
      case "ask-veto":
        return ok({ exitCode: 0 });
      default: {
        const never: never = step;
        return never;
      }
    }
  }

  /** Servers that accept writes from an ordinary (non-SUPER) client right now. */
  writable(): string[] {
    return Object.values(this.servers)
      .filter((s) => this.running(s.name) && !s.readOnly)
      .map((s) => s.name);
  }

  /** Samples every server once (every monitor), feeding the driver. */
  observe(d: Driver, monitors = ["m1"]): Action[] {
    const out: Action[] = [];
    for (const m of monitors) {
      for (const s of this.config.servers)
        out.push(...d.feed({ kind: "health", sample: this.sampleOf(s.name, m) }));
    }
    return out;
  }

  /**
   * Answers every step the driver asks for by executing it here, including the steps those
   * answers lead to, until nothing is pending. `intercept` may replace a result.
   */
  serve(
    d: Driver,
    actions: Action[],
    intercept?: (req: ExecRequest, result: ExecResult) => ExecResult | null,
  ): Action[] {
    const all: Action[] = [];
    const queue: StepAction[] = actions.filter((a): a is StepAction => a.kind === "step");
    let guard = 0;
    while (queue.length && guard++ < 500) {
      const a = queue.shift()!;
      let result = this.exec(a.request);
      if (intercept) {
        const r = intercept(a.request, result);
        if (r === null) continue; // lost: no reply
        result = r;
      }
      d.advance(1);
      this.now = d.now;
      const out = d.result(a, result);
      all.push(...out);
      queue.push(...out.filter((x): x is StepAction => x.kind === "step"));
    }
    return all;
  }
}
