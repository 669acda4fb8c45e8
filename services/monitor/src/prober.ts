// One prober per server: a persistent connection, a probe every intervalMs, and an
// immediate report when the connection refuses or drops. It keeps no opinion about what a
// failure means; it reports what it saw with a kind (see classify.ts).
import type { HealthSample, MonitorSettings } from "@marina/contracts";
import {
  type Connector,
  closeConnection,
  type DbConnection,
  type DbTarget,
  DISKS_SQL,
  OLDEST_TRX_SQL,
  PROBE_TIMEOUT,
  type ProbeError,
  probeErrorOf,
  probeSql,
  splitProbeResult,
  toObservation,
} from "@marina/mariadb";
import { backoffDelay, type Logger, type Clock as RuntimeClock } from "@marina/runtime";
import { emptyQuiet, progressOf, type QuietState, updateQuiet } from "./quiet.js";
import {
  initialCounters,
  nextSample,
  type ProbeCounters,
  type ProbeOutcome,
  type ServerIdentity,
} from "./sample.js";

/** The prober measures and schedules in monotonic time only. */
export type Clock = Pick<RuntimeClock, "monotonic">;

export interface ProberOptions {
  readonly id: ServerIdentity;
  readonly target: DbTarget;
  readonly settings: MonitorSettings;
  readonly connect: Connector;
  readonly clock: Clock;
  readonly log: Logger;
  /** Called for every sample, in order, synchronously. */
  readonly onSample: (sample: HealthSample) => void;
}

class ProbeTimeout extends Error {
  readonly code = PROBE_TIMEOUT;
  constructor(ms: number) {
    super(`no answer within queryTimeoutMs (${ms} ms)`);
  }
}

function isFatal(err: unknown): boolean {
  // The connector marks connection-level failures fatal; SQL errors leave it usable.
  return typeof err === "object" && err !== null && (err as { fatal?: unknown }).fatal === true;
}

/**
 * The connector's socketTimeout is an IDLE timer on the socket: it also fires between
 * probes. So it is set to outlast the gap between two probes, and the probe enforces
 * queryTimeoutMs itself with a deadline that destroys the connection. Both bound a frozen
 * server; the deadline is the precise one.
 */
export function socketTimeoutFor(settings: MonitorSettings): number {
  return settings.queryTimeoutMs + settings.intervalMs;
}

export class ServerProber {
  readonly id: ServerIdentity;
  readonly #o: ProberOptions;
  #conn: DbConnection | null = null;
  /** Failed connect attempts since the last success; drives the backoff. */
  #attempts = 0;
  #nextConnectAt = 0;
  #lastError: ProbeError | null = null;
  #counters: ProbeCounters = initialCounters;
  #quiet: QuietState = emptyQuiet;
  /** undefined until tried on a connection; the DISKS plugin is usually absent. */
  #disks: boolean | undefined;
  /** Whether OLDEST_TRX_SQL works on this connection (PROCESS granted); tried like DISKS_SQL. */
  #trx: boolean | undefined;
  #inFlight: Promise<void> | null = null;
  #again = false;
  #againScheduled = false;
  #timer: NodeJS.Timeout | null = null;
  /** Pending re-probes of a burst (see probeBurst). */
  #burst = new Set<NodeJS.Timeout>();
  #started = false;
  #stopped = false;
  #lastReachable: boolean | undefined;

  constructor(o: ProberOptions) {
    this.#o = o;
    this.id = o.id;
  }

  get running(): boolean {
    return this.#started && !this.#stopped;
  }

  get counters(): ProbeCounters {
    return this.#counters;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.probeNow(true);
  }

  /**
   * Runs a probe at once (after the current one, if one is running). `scheduled` marks the
   * probe of the regular interval: it always tries to connect to a server that is down, so
   * a returning server is seen within one interval; the backoff spaces out only the extra
   * probes (bursts, probes on demand).
   */
  probeNow(scheduled = false): void {
    if (!this.running) return;
    if (this.#inFlight) {
      this.#again = true;
      this.#againScheduled ||= scheduled;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const startedAt = this.#o.clock.monotonic();
    this.#inFlight = this.#probe(scheduled)
      .catch((err: unknown) => this.#o.log.error({ err }, "probe failed unexpectedly"))
      .finally(() => {
        this.#inFlight = null;
        if (!this.running) return;
        if (this.#again) {
          const again = this.#againScheduled;
          this.#again = false;
          this.#againScheduled = false;
          setImmediate(() => this.probeNow(again));
          return;
        }
        const wait = Math.max(
          0,
          startedAt + this.#o.settings.intervalMs - this.#o.clock.monotonic(),
        );
        this.#timer = setTimeout(() => this.probeNow(true), wait);
      });
  }

  /**
   * Probes at each of `delaysMs` from now (0 = at once), e.g. right after another server of
   * the cluster was lost: a replica's IO thread notices a dead primary a few to a few hundred
   * ms after the monitor does, and the decider waits for that evidence. A new burst replaces
   * one still pending. Probes never overlap: one due while a probe runs follows it.
   */
  probeBurst(delaysMs: readonly number[]): void {
    if (!this.running) return;
    this.#clearBurst();
    for (const ms of delaysMs) {
      const t = setTimeout(() => {
        this.#burst.delete(t);
        this.probeNow();
      }, ms);
      this.#burst.add(t);
    }
  }

  #clearBurst(): void {
    for (const t of this.#burst) clearTimeout(t);
    this.#burst.clear();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#clearBurst();
    await this.#inFlight;
    const conn = this.#conn;
    this.#conn = null;
    if (conn) await closeConnection(conn);
  }

  async #probe(scheduled: boolean): Promise<void> {
    const conn = this.#conn ?? (await this.#connect(scheduled));
    if (!conn || this.#stopped) return;
    let withDisks = this.#disks === true;
    let withTrx = this.#trx === true;
    const t0 = this.#o.clock.monotonic();
    let result: unknown;
    try {
      result = await this.#withDeadline(conn, conn.query(probeSql(withDisks, withTrx)));
    } catch (err) {
      const optional = withDisks || withTrx;
      if (!optional || isFatal(err) || err instanceof ProbeTimeout || conn !== this.#conn) {
        this.#fail(conn, err);
        return;
      }
      // A statement error with the optional statements on (a grant revoked since this
      // connection began, say): probe again without them — the server answers, and must
      // not be reported unreachable for a figure it cannot give. Tried again on the next
      // connection.
      this.#disks = false;
      this.#trx = false;
      withDisks = false;
      withTrx = false;
      try {
        result = await this.#withDeadline(conn, conn.query(probeSql(false, false)));
      } catch (again) {
        this.#fail(conn, again);
        return;
      }
    }
    const now = this.#o.clock.monotonic();
    const latencyMs = now - t0;
    let outcome: ProbeOutcome;
    try {
      const rows = splitProbeResult(result, withDisks, withTrx);
      const quiet = updateQuiet(this.#quiet, rows.slaves.map(progressOf), now);
      this.#quiet = quiet.state;
      outcome = { ok: true, latencyMs, observation: toObservation(rows, quiet.quietMs, true) };
    } catch (err) {
      outcome = { ok: false, error: { ...probeErrorOf(err), kind: "other" } };
    }
    if (conn === this.#conn) this.#report(outcome);
  }

  /**
   * Opens the connection — on a scheduled probe always, otherwise when the backoff allows;
   * a probe that may not connect repeats the last error.
   */
  async #connect(scheduled: boolean): Promise<DbConnection | null> {
    const now = this.#o.clock.monotonic();
    if (!scheduled && now < this.#nextConnectAt && this.#lastError) {
      this.#report({ ok: false, error: this.#lastError });
      return null;
    }
    let conn: DbConnection;
    try {
      conn = await this.#o.connect(this.#o.target);
    } catch (err) {
      this.#attempts++;
      this.#nextConnectAt =
        this.#o.clock.monotonic() + backoffDelay(this.#o.settings, this.#attempts);
      this.#report({ ok: false, error: probeErrorOf(err) });
      return null;
    }
    if (this.#stopped) {
      await closeConnection(conn);
      return null;
    }
    this.#attempts = 0;
    this.#conn = conn;
    // A drop between probes is reported from here, at once, not at the next probe.
    conn.on("error", (err) => this.#lose(conn, err));
    // The optional statements are tried on every new connection: a grant given or revoked
    // meanwhile is followed.
    await this.#tryDisks(conn);
    if (this.#conn === conn) await this.#tryTrx(conn);
    return this.#conn;
  }

  async #tryDisks(conn: DbConnection): Promise<void> {
    try {
      await this.#withDeadline(conn, conn.query(DISKS_SQL));
      this.#disks = true;
    } catch (err) {
      if (isFatal(err) || err instanceof ProbeTimeout) {
        this.#lose(conn, err);
        return;
      }
      this.#disks = false;
    }
  }

  async #tryTrx(conn: DbConnection): Promise<void> {
    try {
      await this.#withDeadline(conn, conn.query(OLDEST_TRX_SQL));
      this.#trx = true;
    } catch (err) {
      if (isFatal(err) || err instanceof ProbeTimeout) {
        this.#lose(conn, err);
        return;
      }
      this.#trx = false;
    }
  }

  /** Races a query against queryTimeoutMs; on timeout the connection is lost and destroyed. */
  #withDeadline<T>(conn: DbConnection, work: Promise<T>): Promise<T> {
    const ms = this.#o.settings.queryTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new ProbeTimeout(ms);
        this.#lose(conn, err);
        reject(err);
      }, ms);
    });
    // The losing query's rejection is expected after destroy(); keep it from going unhandled.
    work.catch(() => {});
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }

  /** A query failed: connection-level failures lose the connection; SQL errors keep it. */
  #fail(conn: DbConnection, err: unknown): void {
    if (err instanceof ProbeTimeout || isFatal(err)) {
      this.#lose(conn, err);
      return;
    }
    if (conn === this.#conn) this.#report({ ok: false, error: probeErrorOf(err) });
  }

  /**
   * The connection is gone (drop, timeout, fatal error). Reported once per connection,
   * immediately, from whichever path saw it first (the 'error' event usually wins).
   */
  #lose(conn: DbConnection, err: unknown): void {
    if (conn !== this.#conn) return;
    this.#conn = null;
    try {
      conn.destroy();
    } catch {
      // already gone
    }
    this.#attempts = 1;
    this.#nextConnectAt = this.#o.clock.monotonic() + backoffDelay(this.#o.settings, 1);
    // Quiet tracking compares consecutive probes of one connection; continuity is lost.
    this.#quiet = emptyQuiet;
    if (this.#stopped) return;
    this.#report({ ok: false, error: probeErrorOf(err) });
  }

  #report(outcome: ProbeOutcome): void {
    const { counters, sample } = nextSample(
      this.#o.id,
      this.#counters,
      outcome,
      this.#o.clock.monotonic(),
    );
    this.#counters = counters;
    if (outcome.ok) {
      this.#lastError = null;
      if (this.#lastReachable !== true)
        this.#o.log.info({ probe: sample.probe }, "server reachable");
    } else {
      this.#lastError = outcome.error;
      if (this.#lastReachable !== false) {
        this.#o.log.warn({ probe: sample.probe, error: outcome.error }, "server unreachable");
      }
    }
    this.#lastReachable = outcome.ok;
    try {
      this.#o.onSample(sample);
    } catch (err) {
      this.#o.log.error({ err }, "sample handler failed");
    }
  }
}
