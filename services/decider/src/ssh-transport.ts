// Agentless mode: the agent calls the core addresses to `ssh:<server>` pseudo hosts are run
// here, over SSH (hostops), and answered with the same `agent-result` / `agent-progress`
// inputs an agent's replies would give. The core's rebuild plan is the same either way.
import { readFileSync } from "node:fs";
import {
  type AgentAction,
  type AgentProgress,
  type AgentResult,
  type ClusterConfig,
  errorBody,
  errorBodyOf,
  MarinaError,
  resolveSecret,
  type SshHostSettings,
  sshSettingsOf,
} from "@marina/contracts";
import { sshServerOf } from "@marina/decider-core/plans/rebuild";
import { type SshEndpoint, SshHostOps, type SshServer, SshSession } from "@marina/hostops";
import type { Logger } from "pino";

/** Where the results of an SSH call go: into the core, as an agent's would. */
export interface SshCallSink {
  result(via: "reply" | "done", result: AgentResult): void;
  progress(p: AgentProgress): void;
}

/** One call the core asked for, as the shell hands it over. */
export interface SshCall {
  /** The core's operation id. */
  opId: string;
  key: string;
  host: string;
  /** The agent-side id (`<opId>-<key>`): a call sent again under it is answered, not re-run. */
  callId: string;
  action: AgentAction;
  /** The donor of the running rebuild (its host key is checked before the target is touched). */
  donor: string | null;
}

type JobState = "running" | "succeeded" | "failed" | "cancelled";

interface Job {
  call: SshCall;
  state: JobState;
  controller: AbortController;
  accepted: Record<string, unknown> | null;
  final: AgentResult | null;
  ended: Promise<void>;
  startedAt: number;
}

export interface SshTransportDeps {
  config: ClusterConfig;
  log: Logger;
  /** Reads a private key file (tests may pass their own). */
  readKey?: (path: string) => string;
}

export class SshTransport {
  private readonly jobs = new Map<string, Job>();
  private readonly readKey: (path: string) => string;

  constructor(private readonly d: SshTransportDeps) {
    this.readKey = d.readKey ?? ((p) => readFileSync(p, "utf8"));
  }

  /** Whether `host` is a pseudo host of the agentless mode. */
  static handles(host: string): boolean {
    return sshServerOf(host) !== null;
  }

  /** Runs one call; every answer goes to `sink` (never throws). */
  run(call: SshCall, sink: SshCallSink): void {
    const { action } = call;
    const existing = this.jobs.get(call.callId);
    if (existing && action.action !== "cancel") {
      // Sent again (a retry or a new leader in this process): answer with what we know.
      if (existing.final) sink.result("reply", existing.final);
      else if (existing.accepted) sink.result("reply", this.ok(call, existing.accepted));
      return;
    }
    switch (action.action) {
      case "receive-backup":
        this.receive(call, action, sink);
        return;
      case "send-backup":
        this.send(call, action, sink);
        return;
      case "cancel":
        void this.cancel(call, action.opId).then((r) => sink.result("reply", r));
        return;
      case "stop-server":
      case "start-server":
        void this.service(call, action.action, action.server).then((r) => sink.result("reply", r));
        return;
      case "status":
        sink.result("reply", this.ok(call, { transport: "ssh" }));
        return;
      default: {
        const never: never = action;
        throw new Error(`unknown agent action ${JSON.stringify(never)}`);
      }
    }
  }

  /** Hangs up every running call (leadership lost, shutdown) and waits for them to end. */
  async abortAll(): Promise<void> {
    const running = [...this.jobs.values()].filter((j) => j.state === "running");
    for (const j of running) j.controller.abort();
    await Promise.all(running.map((j) => j.ended));
  }

  private settings(server: string): SshHostSettings {
    const s = sshSettingsOf(this.d.config, server);
    if (s === null)
      throw new MarinaError("NOT_APPLICABLE", `${server} has no ssh settings in the config`);
    if (!s.ok)
      throw new MarinaError("NOT_APPLICABLE", `${server} lacks ssh ${s.missing.join(", ")}`);
    return s.settings;
  }

  private endpoint(s: SshHostSettings): SshEndpoint {
    const k = s.privateKey;
    const privateKey = "path" in k ? this.readKey(k.path) : resolveSecret(k);
    return {
      host: s.host,
      port: s.port,
      username: s.user,
      privateKey,
      hostKeyFingerprint: s.hostKeyFingerprint,
    };
  }

  private opsFor(s: SshHostSettings): SshHostOps {
    return new SshHostOps({
      endpoint: this.endpoint(s),
      sudo: s.sudo,
      backupUser: s.backup.user,
      backupPassword: resolveSecret(s.backup.password),
      tmpDir: s.tmpDir,
    });
  }

  private serverOf(name: string, s: SshHostSettings): SshServer {
    return SshHostOps.checkServer({
      name,
      datadir: s.datadir,
      defaultsFile: s.defaultsFile,
      socket: s.socket,
      osUser: s.osUser,
      osGroup: s.osGroup,
      unit: s.unit,
      service: s.service,
    });
  }

  private ok(call: SshCall, data: Record<string, unknown>, startedAt = Date.now()): AgentResult {
    return {
      host: call.host,
      opId: call.callId,
      ok: true,
      durationMs: Math.max(0, Date.now() - startedAt),
      data,
      error: null,
    };
  }

  private fail(call: SshCall, err: unknown, startedAt = Date.now()): AgentResult {
    return {
      host: call.host,
      opId: call.callId,
      ok: false,
      durationMs: Math.max(0, Date.now() - startedAt),
      data: { action: call.action.action },
      error: errorBodyOf(err),
    };
  }

  private start(call: SshCall, body: (job: Job) => Promise<void>): void {
    let done: () => void = () => {};
    const job: Job = {
      call,
      state: "running",
      controller: new AbortController(),
      accepted: null,
      final: null,
      ended: new Promise<void>((r) => {
        done = r;
      }),
      startedAt: Date.now(),
    };
    this.jobs.set(call.callId, job);
    void body(job).finally(() => done());
  }

  private end(job: Job, result: AgentResult): void {
    job.final = result;
    job.state = result.ok
      ? "succeeded"
      : result.error?.code === "CANCELLED"
        ? "cancelled"
        : "failed";
    this.d.log[result.ok ? "info" : "warn"](
      { opId: job.call.opId, host: job.call.host, error: result.error },
      `ssh ${job.call.action.action} ${job.state}`,
    );
  }

  /** Target: preflight both hosts, then stop, empty, listen (reply), extract, prepare, start (done). */
  private receive(
    call: SshCall,
    a: Extract<AgentAction, { action: "receive-backup" }>,
    sink: SshCallSink,
  ): void {
    this.start(call, async (job) => {
      let ops: SshHostOps | undefined;
      let listening = false;
      try {
        const s = this.settings(a.server);
        const server = this.serverOf(a.server, s);
        // The donor's host key is checked before anything happens on the target.
        if (call.donor !== null) {
          const donor = await SshSession.connect(this.endpoint(this.settings(call.donor)));
          donor.close();
        }
        ops = this.opsFor(s);
        const handle = await ops.receiveBackup(server, {
          port: a.port ?? s.streamPort,
          bind: s.listenAddress,
          compression: a.compression,
          tls: a.tls,
          signal: job.controller.signal,
          onProgress: (p) => this.forwardProgress(call.opId, p.bytes),
        });
        listening = true;
        job.accepted = {
          action: "receive-backup",
          server: a.server,
          state: "running",
          phase: "listening",
          address: s.advertiseAddress,
          port: handle.port,
          transport: "ssh",
        };
        sink.result("reply", this.ok(call, job.accepted, job.startedAt));
        const out = await handle.done;
        const r = this.ok(
          call,
          {
            action: "receive-backup",
            server: a.server,
            gtid: out.position.gtid,
            binlogFile: out.position.binlogFile,
            binlogPos: out.position.binlogPos,
            slaveGtid: out.position.slaveGtid,
            bytes: out.bytes,
            datadirBytes: out.bytes,
            port: handle.port,
            timings: out.timings,
            transport: "ssh",
          },
          job.startedAt,
        );
        this.end(job, r);
        sink.result("done", r);
      } catch (err) {
        const r = this.fail(call, err, job.startedAt);
        this.end(job, r);
        sink.result(listening ? "done" : "reply", r);
      } finally {
        ops?.close();
      }
    });
  }

  /** Donor: stream a backup to the listening target. */
  private send(
    call: SshCall,
    a: Extract<AgentAction, { action: "send-backup" }>,
    sink: SshCallSink,
  ): void {
    this.start(call, async (job) => {
      let ops: SshHostOps | undefined;
      let accepted = false;
      try {
        const s = this.settings(a.server);
        const server = this.serverOf(a.server, s);
        ops = this.opsFor(s);
        job.accepted = {
          action: "send-backup",
          server: a.server,
          state: "running",
          phase: "streaming",
          transport: "ssh",
        };
        accepted = true;
        sink.result("reply", this.ok(call, job.accepted, job.startedAt));
        const out = await ops.sendBackup(server, {
          to: a.to,
          compression: a.compression,
          tls: a.tls,
          signal: job.controller.signal,
        });
        const r = this.ok(
          call,
          { action: "send-backup", server: a.server, timings: out.timings, transport: "ssh" },
          job.startedAt,
        );
        this.end(job, r);
        sink.result("done", r);
      } catch (err) {
        const r = this.fail(call, err, job.startedAt);
        this.end(job, r);
        sink.result(accepted ? "done" : "reply", r);
      } finally {
        ops?.close();
      }
    });
    this.sends.set(call.opId, { call, sink });
  }

  private readonly sends = new Map<string, { call: SshCall; sink: SshCallSink }>();

  /** The target's datadir growth is the stream's progress: reported on the donor's call. */
  private forwardProgress(opId: string, bytes: number): void {
    const send = this.sends.get(opId);
    const job = send ? this.jobs.get(send.call.callId) : undefined;
    if (!send || !job || job.state !== "running") return;
    const a = send.call.action;
    if (a.action !== "send-backup") return;
    const elapsedMs = Date.now() - job.startedAt;
    send.sink.progress({
      host: send.call.host,
      opId: send.call.callId,
      server: a.server,
      action: "send-backup",
      phase: "streaming",
      bytes,
      totalBytes: null,
      bytesPerSecond: elapsedMs > 0 ? Math.round((bytes * 1000) / elapsedMs) : 0,
      etaMs: null,
      elapsedMs,
    });
  }

  /** Cancel hangs up the call's SSH channels (and with them its remote pipeline). */
  private async cancel(call: SshCall, target: string): Promise<AgentResult> {
    const job = this.jobs.get(target);
    if (!job) return this.ok(call, { state: "unknown", opId: target });
    if (job.state === "running") {
      job.controller.abort();
      await job.ended;
    }
    return this.ok(call, { state: job.state, opId: target });
  }

  private async service(
    call: SshCall,
    what: "stop-server" | "start-server",
    name: string,
  ): Promise<AgentResult> {
    const started = Date.now();
    let ops: SshHostOps | undefined;
    try {
      const s = this.settings(name);
      const server = this.serverOf(name, s);
      ops = this.opsFor(s);
      if (what === "stop-server") await ops.stopServer(server);
      else await ops.startServer(server);
      return this.ok(call, { action: what, server: name }, started);
    } catch (err) {
      return this.fail(call, err, started);
    } finally {
      ops?.close();
    }
  }
}

/** A call to an ssh pseudo host refused before anything ran (not leader). */
export function sshRefusal(call: SshCall, message: string): AgentResult {
  return {
    host: call.host,
    opId: call.callId,
    ok: false,
    durationMs: 0,
    data: {},
    error: errorBody("NOT_LEADER", message),
  };
}
