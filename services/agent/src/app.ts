import {
  type AgentAction,
  type AgentActionName,
  AgentActionNames,
  AgentHeartbeatMessage,
  AgentRequestMessage,
  type AgentResult,
  AgentResultMessage,
  type ClusterTopology,
  type ErrorBody,
  envelope,
  errorBody,
  errorBodyOf,
  MarinaError,
  mustParse,
  parseMessage,
  parseOnSubject,
  SAFE_NAME,
  subjects,
  TopologyMessage,
} from "@marina/contracts";
import type { ToolPaths } from "@marina/hostops";
import { LeaseFence, type LeaseSource } from "@marina/lease-fence";
import type { PrivilegeCheckResult } from "@marina/mariadb";
import type { Logger } from "pino";
import type { Bus } from "./bus.js";
import type { AgentConfig, AgentServerConfig } from "./config.js";
import { serverOf as configuredServer, fencedCluster } from "./fencing.js";
import type { HostBackend } from "./host/backend.js";
import { localBackend } from "./host/local-backend.js";
import { fenceLocal, readOnlyOf } from "./host/local-sql.js";
import { readProvisionFacts } from "./host/provision-facts.js";
import {
  readConnectionFilters,
  replicationFiltersCnf,
  writeReplicationFilters,
} from "./host/replication-filters.js";
import {
  configuredControl,
  killServer,
  type ServiceControlFactory,
} from "./host/service-control.js";
import { sshBackend } from "./host/ssh-backend.js";
import { probeToolVersions } from "./host/tools.js";
import { AgentProgressMessage, agentSubjects } from "./messages.js";
import { AgentMetrics } from "./metrics.js";
import type { LongAction, OpContext } from "./ops/context.js";
import { withTimeout } from "./ops/context.js";
import { pruneBackups } from "./ops/prune-backups.js";
import { receiveBackup } from "./ops/receive-backup.js";
import { receiveDump } from "./ops/receive-dump.js";
import { type OpRecord, OpRegistry } from "./ops/registry.js";
import { recoverInterruptedSends } from "./ops/replication-hold.js";
import { restoreBackup } from "./ops/restore-backup.js";
import { sendBackup } from "./ops/send-backup.js";
import { sendDump } from "./ops/send-dump.js";
import { listBackups, takeBackup } from "./ops/take-backup.js";
import { checkBackupPrivileges } from "./privileges.js";
import { tcpReachable } from "./self-fence/peers.js";
import type { Peer } from "./self-fence/rule.js";
import { selfFence } from "./self-fence/watcher.js";

/** How long kill-server waits for the killed mariadbd to go (under the decider's 3 s). */
const KILL_WAIT_MS = 2_000;
export const AGENT_VERSION = "0.1.0";

export interface Clock {
  now(): number;
}

export interface AppDeps {
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly config: AgentConfig;
  /** Resolved secret of the backup account (never logged). */
  readonly backupPassword?: string | undefined;
  /** Stop/start per server; defaults to what the config says (systemd or process). */
  readonly serviceControl?: ServiceControlFactory;
  /** The private key of a server served over SSH (resolved by the caller; never logged). */
  readonly sshPrivateKey?: (server: AgentServerConfig) => string;
  /** The leader leases requests are fenced by (kvLeaseSource in production); closed on stop. */
  readonly lease: LeaseSource;
  /**
   * A cluster's last topology, the self-fence's candidates (topologyReader in production);
   * absent: none is ever known, and the self-fence keeps every primary's writes.
   */
  readonly readTopology?: (cluster: string) => Promise<ClusterTopology | null>;
  /** Whether a peer's MariaDB port answers (default: a TCP connect from this host). */
  readonly reachable?: (peer: Peer, timeoutMs: number) => Promise<boolean>;
  /** Whether a NATS majority answers this agent (natsMajority in production; default no). */
  readonly natsMajority?: (timeoutMs: number) => Promise<boolean>;
  /** Node's process metrics on /metrics too (the agent's own process: main.ts). */
  readonly defaultMetrics?: boolean;
}

export interface AgentApp {
  start(): Promise<void>;
  /** Stops serving and heartbeats; running transfers are cancelled and awaited. */
  stop(): Promise<void>;
  /**
   * Reads the backup account's grants on every server once and logs what is missing
   * (start() runs it in the background); never rejects.
   */
  checkPrivileges(): Promise<PrivilegeCheckResult[]>;
  /** One request as if it came from NATS (returns the reply JSON); for tests and tools. */
  handle(action: AgentActionName, data: Uint8Array | string): Promise<string>;
  readonly registry: OpRegistry;
  /** What /metrics serves (docs/metrics.md). */
  readonly metrics: AgentMetrics;
}

export function buildApp(deps: AppDeps): AgentApp {
  const { bus, config: cfg } = deps;
  const log = deps.log.child({ host: cfg.host });
  const clock = deps.clock ?? { now: () => Date.now() };
  const paths: ToolPaths = cfg.tools;
  const registry = new OpRegistry();
  const source = `agent/${cfg.host}`;
  const startedAt = clock.now();
  const fence = new LeaseFence(deps.lease, () => clock.now());
  const clusters = [...new Set(cfg.servers.map((s) => s.cluster))];
  const isTransfer = (a: string) => a === "send-backup" || a === "receive-backup";
  const metrics = new AgentMetrics(
    {
      transfersRunning: () => registry.running().filter((r) => isTransfer(r.action)).length,
      // Read at scrape time only, once selfFencing (below) exists.
      selfFence: () => selfFencing?.state(),
    },
    { defaultMetrics: deps.defaultMetrics ?? false },
  );
  let tools: Record<string, string | null> = {};
  const hosts = new Map<string, HostBackend>();
  /** The backend of a server: this host, or the one its `ssh` section names. */
  const hostOf = (s: AgentServerConfig): HostBackend => {
    let h = hosts.get(s.name);
    if (!h) {
      const injected = deps.serviceControl?.(s);
      const ssh = s.ssh;
      if (ssh) {
        if (!deps.sshPrivateKey) {
          throw new MarinaError("NOT_APPLICABLE", `${s.name}: no ssh private key resolver`);
        }
        h = sshBackend({
          cfg,
          paths,
          server: { ...s, ssh },
          privateKey: deps.sshPrivateKey(s),
          backupPassword: deps.backupPassword,
          ...(injected ? { control: injected } : {}),
        });
      } else {
        h = localBackend({
          cfg,
          paths,
          server: s,
          control: injected ?? configuredControl(s, paths, cfg.timeouts.serviceMs),
          account: {
            socket: s.socket,
            user: cfg.backup.user,
            password: deps.backupPassword,
            timeoutMs: cfg.timeouts.sqlMs,
          },
        });
      }
      hosts.set(s.name, h);
    }
    return h;
  };
  const controlOf = (s: AgentServerConfig) => hostOf(s).control;
  /** A server's status; over SSH bounded so an unreachable host cannot stall a heartbeat. */
  const statusOf = (s: AgentServerConfig) => {
    const down = { running: false, pid: null };
    const st = controlOf(s).status();
    return (s.ssh ? withTimeout(st, Math.max(1000, cfg.heartbeatMs), "status") : st).catch(
      () => down,
    );
  };
  const backupEnv: NodeJS.ProcessEnv = { ...process.env };
  delete backupEnv.MYSQL_PWD;
  if (deps.backupPassword !== undefined) backupEnv.MYSQL_PWD = deps.backupPassword;

  const baseCtx = (opLog: Logger): OpContext => ({
    cfg,
    paths,
    log: opLog,
    now: () => clock.now(),
    host: hostOf,
    backupEnv,
    publishProgress: (p) => {
      if (isTransfer(p.action)) metrics.progress(p.action, p.bytesPerSecond);
      try {
        bus.publish(
          agentSubjects.progress(cfg.host),
          JSON.stringify(mustParse(AgentProgressMessage, envelope("agent-progress", source, p))),
        );
      } catch (err) {
        opLog.error({ err }, "progress event failed validation");
      }
    },
  });

  const reply = (
    opId: string,
    started: number,
    ok: boolean,
    data: Record<string, unknown>,
    error: ErrorBody | null,
  ): AgentResult => ({
    host: cfg.host,
    opId,
    ok,
    durationMs: Math.max(0, Math.round(performance.now() - started)),
    data,
    error,
  });
  const encode = (r: AgentResult): string =>
    JSON.stringify(mustParse(AgentResultMessage, envelope("agent-result", source, r)));

  const serverOf = (name: string): AgentServerConfig => configuredServer(cfg, name);

  const statusData = async (): Promise<Record<string, unknown>> => {
    const servers = await Promise.all(
      cfg.servers.map(async (s) => {
        const st = await statusOf(s);
        const marker = await hostOf(s)
          .readRebuildMarker(s.datadir)
          .catch(() => undefined);
        return {
          name: s.name,
          datadir: s.datadir,
          mariadbdRunning: st.running,
          pid: st.pid,
          rebuild: marker ?? null,
          busy: registry.busyWith(s.name)?.opId ?? null,
        };
      }),
    );
    return {
      host: cfg.host,
      agentVersion: AGENT_VERSION,
      leaseEpochs: Object.fromEntries(clusters.map((c) => [c, fence.watchedEpoch(c)])),
      servers,
      tools,
      operations: registry.recent().map((o) => ({
        opId: o.opId,
        action: o.action,
        server: o.server,
        state: o.state,
        phase: o.phase,
        startedAt: new Date(o.startedAt).toISOString(),
        // A decider that missed the done event finds the outcome (e.g. the GTID) here.
        data: o.result?.data ?? null,
        error: o.result?.error ?? null,
      })),
    };
  };

  /** Publishes the final result of a long action and closes its record. */
  const finishLong = (
    rec: OpRecord,
    started: number,
    action: LongAction,
    method: string,
    opLog: Logger,
  ) => {
    const seconds = () => (performance.now() - started) / 1000;
    action.done.then(
      (data) => {
        rec.phase = "done";
        const r = reply(rec.opId, started, true, data, null);
        registry.end(rec, "succeeded", r);
        metrics.transferEnded(rec.action, method, "succeeded", seconds(), data);
        opLog.info({ durationMs: r.durationMs, data }, "action succeeded");
        bus.publish(agentSubjects.done(cfg.host), encode(r));
      },
      (err: unknown) => {
        const body = errorBodyOf(err);
        const state = body.code === "CANCELLED" ? "cancelled" : "failed";
        rec.phase = state;
        const r = reply(rec.opId, started, false, { action: rec.action, server: rec.server }, body);
        registry.end(rec, state, r);
        metrics.transferEnded(rec.action, method, state, seconds());
        opLog.warn({ err: body }, "action failed");
        bus.publish(agentSubjects.done(cfg.host), encode(r));
      },
    );
  };

  const runShort = async (
    rec: OpRecord,
    fn: () => Promise<Record<string, unknown>>,
    started: number,
  ): Promise<AgentResult> => {
    try {
      const data = await fn();
      const r = reply(rec.opId, started, true, data, null);
      registry.end(rec, "succeeded", r);
      return r;
    } catch (err) {
      const body = errorBodyOf(err);
      // With the phase it failed in: the decider tells an untouched server from a changed one.
      const failed = { action: rec.action, server: rec.server, phase: rec.phase };
      const r = reply(rec.opId, started, false, failed, body);
      registry.end(rec, body.code === "CANCELLED" ? "cancelled" : "failed", r);
      // Answered as recorded (with its phase), not rebuilt from the error by the caller.
      log.warn({ opId: rec.opId, err: body }, "request failed");
      return r;
    }
  };

  /** The server's live per-connection filters into its Marina option file. */
  async function persistFilters(s: AgentServerConfig): Promise<Record<string, unknown>> {
    if (!s.replicationFiltersFile) {
      throw new MarinaError(
        "NOT_APPLICABLE",
        `${s.name} has no replicationFiltersFile in the agent config: its filters cannot be persisted (docs/operations.md)`,
      );
    }
    if (hostOf(s).kind !== "local") {
      throw new MarinaError(
        "NOT_APPLICABLE",
        `${s.name} is served over SSH: filters are persisted by an agent on its host`,
      );
    }
    const filters = await readConnectionFilters(hostOf(s).account);
    await writeReplicationFilters(s.replicationFiltersFile, replicationFiltersCnf(filters));
    return {
      file: s.replicationFiltersFile,
      filters: filters.filter((f) => f.connection !== "" && f.wildDoTable !== ""),
    };
  }

  async function dispatch(
    opId: string,
    req: AgentAction,
    started: number,
    opLog: Logger,
  ): Promise<AgentResult> {
    const ok = (data: Record<string, unknown>) => reply(opId, started, true, data, null);
    const ctx = baseCtx(opLog);
    switch (req.action) {
      case "status":
        return ok(await statusData());
      case "provision-facts": {
        const s = serverOf(req.server);
        const facts = await readProvisionFacts(
          hostOf(s).account,
          req.databases,
          req.replicationUser,
        );
        return ok({ action: req.action, server: s.name, cluster: s.cluster, ...facts });
      }
      case "persist-replication-filters": {
        const s = serverOf(req.server);
        return ok({ action: req.action, server: s.name, ...(await persistFilters(s)) });
      }
      case "list-backups": {
        const s = serverOf(req.server);
        const backups = await listBackups(ctx, s, req.id);
        return ok({ action: req.action, server: s.name, cluster: s.cluster, backups });
      }
      case "take-backup":
      case "restore-backup": {
        const s = serverOf(req.server);
        const rec = registry.begin(opId, req.action, s.name, clock.now());
        return runShort(
          rec,
          () =>
            req.action === "take-backup"
              ? takeBackup(ctx, rec, s, req.sources, req.limitMs)
              : restoreBackup(ctx, rec, s, req.id, req.limitMs),
          started,
        );
      }
      case "prune-backups": {
        const s = serverOf(req.server);
        // A restore or rebuild that did not finish may still need the backups (whoever set
        // the server's maintenance): refused until the datadir is whole again.
        const marker = await hostOf(s).readRebuildMarker(s.datadir);
        if (marker) {
          throw new MarinaError(
            "REFUSED",
            `${s.name}: the datadir holds an unfinished restore or rebuild (opId ${marker.opId}, ${marker.state}); its backups are not pruned until the server is restored or rebuilt`,
            { path: "payload.request.server" },
          );
        }
        // Through the registry: refused while a backup or restore of the server runs here.
        const rec = registry.begin(opId, req.action, s.name, clock.now());
        return runShort(
          rec,
          async () => ({
            action: req.action,
            cluster: s.cluster,
            ...(await pruneBackups(ctx, rec, s, req)),
          }),
          started,
        );
      }
      case "stop-server": {
        const s = serverOf(req.server);
        const rec = registry.begin(opId, req.action, s.name, clock.now());
        return runShort(
          rec,
          async () => {
            await withTimeout(
              controlOf(s).stop(rec.controller.signal),
              cfg.timeouts.serviceMs,
              "stop",
            );
            return { action: req.action, server: s.name, ...(await controlOf(s).status()) };
          },
          started,
        );
      }
      case "kill-server": {
        const s = serverOf(req.server);
        if (hostOf(s).kind !== "local") {
          throw new MarinaError(
            "NOT_APPLICABLE",
            `${s.name} is served over SSH: the agent cannot kill its mariadbd (STONITH needs an agent on its host)`,
            { path: "payload.request.server" },
          );
        }
        // Not through the op registry: an emergency is not refused because the server is
        // busy with something else, and a request sent again simply kills again (or finds
        // it gone). The wait stays under the decider's reply timeout (3 s).
        const killed = await killServer(controlOf(s), s.datadir, KILL_WAIT_MS);
        opLog.warn({ server: s.name, ...killed }, "STONITH: mariadbd killed");
        return ok({ action: req.action, server: s.name, ...killed });
      }
      case "start-server": {
        const s = serverOf(req.server);
        const marker = await hostOf(s).readRebuildMarker(s.datadir);
        if (marker) {
          throw new MarinaError(
            "REFUSED",
            `${s.name}: the datadir holds an unfinished rebuild (opId ${marker.opId}, ${marker.state}${marker.reason ? `: ${marker.reason}` : ""}); rebuild it again`,
            { path: "payload.request.server" },
          );
        }
        const rec = registry.begin(opId, req.action, s.name, clock.now());
        return runShort(
          rec,
          async () => {
            await withTimeout(
              controlOf(s).start(rec.controller.signal),
              cfg.timeouts.serviceMs,
              "start",
            );
            return { action: req.action, server: s.name, ...(await controlOf(s).status()) };
          },
          started,
        );
      }
      case "receive-backup":
      case "send-backup": {
        const s = serverOf(req.server);
        const existing = registry.get(opId);
        if (existing) {
          // A retried request: report the operation instead of starting it twice.
          if (existing.action !== req.action) {
            throw new MarinaError("REFUSED", `opId ${opId} is already used by ${existing.action}`, {
              path: "payload.opId",
            });
          }
          if (existing.result) return existing.result;
          return ok({ ...existing.accepted, state: existing.state, phase: existing.phase });
        }
        const rec = registry.begin(opId, req.action, s.name, clock.now());
        let action: LongAction;
        try {
          const logical = req.method === "logical";
          action =
            req.action === "receive-backup"
              ? await (logical ? receiveDump : receiveBackup)(ctx, rec, s, {
                  compression: req.compression,
                  tls: req.tls,
                  port: req.port,
                  keep: req.keep,
                  addSource: req.addSource,
                })
              : await (logical ? sendDump : sendBackup)(ctx, rec, s, {
                  compression: req.compression,
                  tls: req.tls,
                  to: req.to,
                  databases: req.databases,
                  addSource: req.addSource,
                });
        } catch (err) {
          const body = errorBodyOf(err);
          const r = reply(opId, started, false, { action: req.action, server: s.name }, body);
          registry.end(rec, body.code === "CANCELLED" ? "cancelled" : "failed", r);
          throw err;
        }
        rec.accepted = action.accepted;
        finishLong(rec, started, action, req.method ?? "physical", opLog);
        return ok(action.accepted);
      }
      case "cancel": {
        const target = registry.get(req.opId);
        if (!target) {
          throw new MarinaError("NOT_APPLICABLE", `no operation ${req.opId} on host ${cfg.host}`, {
            path: "payload.request.opId",
          });
        }
        if (target.state === "running") {
          opLog.warn({ target: req.opId }, "cancelling");
          target.controller.abort(`cancelled by request ${opId}`);
          await withTimeout(target.ended, 60_000, "cancel").catch(() => {});
        }
        return ok({ action: "cancel", opId: req.opId, state: target.state, phase: target.phase });
      }
      default: {
        const never: never = req;
        throw new Error(`unhandled action ${JSON.stringify(never)}`);
      }
    }
  }

  /** parse → check → dispatch; always returns a reply, never throws. */
  /** Every request gets an answer: a failure of the handler itself is answered INTERNAL. */
  async function handleSafely(action: AgentActionName, data: Uint8Array): Promise<string> {
    try {
      return await handle(action, data);
    } catch (err) {
      log.error({ action, err }, "request handler failed");
      const body = errorBody("INTERNAL", `the agent failed to handle the request: ${String(err)}`);
      return encode(reply(rawOpId(data), performance.now(), false, { action }, body));
    }
  }

  async function handle(action: AgentActionName, data: Uint8Array | string): Promise<string> {
    const started = performance.now();
    const parsed = parseMessage(AgentRequestMessage, data);
    if (!parsed.ok) {
      log.warn({ action, err: parsed.error }, "refused a malformed request");
      return encode(reply(rawOpId(data), started, false, {}, parsed.error));
    }
    const { opId, epoch, host, request } = parsed.value.payload;
    const opLog = log.child({
      opId,
      action,
      server: "server" in request ? request.server : undefined,
    });
    try {
      if (host !== cfg.host) {
        throw new MarinaError("REFUSED", `request for host ${host} reached agent ${cfg.host}`, {
          path: "payload.host",
        });
      }
      if (request.action !== action) {
        throw new MarinaError(
          "VALIDATION_FAILED",
          `payload.request.action: "${request.action}" sent on the ${action} subject`,
          {
            path: "payload.request.action",
          },
        );
      }
      // Fencing: only the current leader lease's epoch acts; nothing is learnt from a request.
      const cluster = fencedCluster(cfg, registry, request);
      const verdict = cluster === null ? null : await fence.admit(cluster, epoch);
      if (verdict && !verdict.ok) {
        opLog.warn({ epoch, cluster, err: verdict.error }, "request refused by the lease fence");
        const current = verdict.currentEpoch === null ? {} : { currentEpoch: verdict.currentEpoch };
        return encode(reply(opId, started, false, { action, ...current }, verdict.error));
      }
      opLog.info({ epoch }, "request");
      return encode(await dispatch(opId, request, started, opLog));
    } catch (err) {
      const body = errorBodyOf(err);
      opLog.warn({ err: body }, "request failed");
      return encode(reply(opId, started, false, { action }, body));
    }
  }

  let servers: { stop(): void }[] = [];
  const topologySubs: { stop(): void }[] = [];
  let heartbeat: NodeJS.Timeout | undefined;

  const beat = async () => {
    const hb = {
      host: cfg.host,
      agentVersion: AGENT_VERSION,
      uptimeMs: Math.max(0, Math.round(clock.now() - startedAt)),
      servers: await Promise.all(
        cfg.servers.map(async (s) => {
          const st = await statusOf(s);
          return { name: s.name, datadir: s.datadir, mariadbdRunning: st.running, pid: st.pid };
        }),
      ),
      tools,
      busy: registry.running().map((o) => o.opId),
    };
    bus.publish(
      subjects.agentHeartbeat(cfg.host),
      JSON.stringify(mustParse(AgentHeartbeatMessage, envelope("agent-heartbeat", source, hb))),
    );
  };

  const checkServers = () =>
    checkBackupPrivileges(
      cfg.servers,
      cfg.backup.user,
      (s) => hostOf(s).account,
      log,
      cfg.selfFence.enabled,
    );

  // Only servers on this host: an agent serving SSH hosts is not beside them.
  const selfFencing = cfg.selfFence.enabled
    ? selfFence({
        config: cfg.selfFence,
        servers: cfg.servers.filter((s) => !s.ssh),
        leaseCached: (c) => deps.lease.cached(c),
        readTopology: deps.readTopology ?? (async () => null),
        reachable: deps.reachable ?? tcpReachable,
        natsMajority: deps.natsMajority ?? (async () => false),
        readOnly: (s) => readOnlyOf(hostOf(s).account),
        fence: (s) =>
          fenceLocal(
            hostOf(s).account,
            new Set([cfg.backup.user]),
            (ms) => new Promise((r) => setTimeout(r, ms)),
          ),
        now: () => clock.now(),
        log,
        onFenced: (s) => metrics.selfFences.inc({ cluster: s.cluster, server: s.name }),
      })
    : undefined;

  return {
    registry,
    metrics,
    handle,
    checkPrivileges: checkServers,
    async start() {
      fence.start();
      if (selfFencing) {
        // Live topologies too: a primary cut off right after its cluster's first topology
        // must not find its candidates unknown because the stream read was slow.
        const sf = selfFencing;
        for (const c of new Set(cfg.servers.filter((s) => !s.ssh).map((s) => s.cluster))) {
          topologySubs.push(
            bus.subscribe(subjects.topology(c), (data) => {
              const r = parseOnSubject(TopologyMessage, subjects.topology(c), data);
              if (r.ok) sf.offerTopology(r.value.payload);
            }),
          );
        }
        sf.start();
      }
      // In the background, like the recovery below: a server down must not delay the agent.
      void checkServers();
      tools = await probeToolVersions(paths);
      // In the background: a donor whose server is still down must not delay the agent.
      void recoverInterruptedSends(baseCtx(log), cfg.servers).catch((err) =>
        log.error({ err }, "recovery of interrupted backups failed"),
      );
      servers = AgentActionNames.map((a) =>
        bus.serve(subjects.agent(cfg.host, a), (d) => handleSafely(a, d)),
      );
      let beating = false;
      heartbeat = setInterval(() => {
        if (beating) return;
        beating = true;
        beat()
          .catch((err) => log.error({ err }, "heartbeat failed"))
          .finally(() => {
            beating = false;
          });
      }, cfg.heartbeatMs);
      await beat().catch((err) => log.error({ err }, "heartbeat failed"));
      await bus.flush();
      log.info({ servers: cfg.servers.map((s) => s.name), tools }, "agent started");
    },
    async stop() {
      for (const s of servers) s.stop();
      servers = [];
      if (heartbeat) clearInterval(heartbeat);
      const running = registry.running();
      for (const r of running) r.controller.abort("agent stopping");
      await Promise.all(
        running.map((r) => withTimeout(r.ended, 60_000, "shutdown").catch(() => {})),
      );
      for (const t of topologySubs.splice(0)) t.stop();
      await selfFencing?.stop();
      await fence.close();
      for (const h of hosts.values()) h.close();
      hosts.clear();
      await bus.flush().catch(() => {});
    },
  };
}

/** The opId of a request that failed validation, when it has a usable one. */
function rawOpId(data: Uint8Array | string): string {
  try {
    const v = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data)) as {
      payload?: { opId?: unknown };
    };
    const id = v?.payload?.opId;
    return typeof id === "string" && SAFE_NAME.test(id) ? id : "invalid-request";
  } catch {
    return "invalid-request";
  }
}
