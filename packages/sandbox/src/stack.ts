// Marina's services running in-process (or as child processes) around a lab: what the
// sandbox demo, the end-to-end tests and the benchmarks use.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { MarinaConfig } from "@marina/contracts";
import { buildApp as buildDecider, type DeciderApp, type DeciderOptions } from "@marina/decider";
import { type RunningExecutor, startExecutor } from "@marina/executor";
import { type Lab, type LabOptions, startLab } from "@marina/lab";
import { type MonitorHandle, startMonitor } from "@marina/monitor";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import { configFromLab, type LabConfigOptions } from "./lab-config.js";

export interface StackOptions {
  lab?: LabOptions;
  config?: LabConfigOptions;
  executors?: number;
  deciders?: number;
  monitor?: boolean;
  log?: Logger;
  leaseTtlMs?: number;
}

export interface Decider {
  id: string;
  app: DeciderApp;
  nc: NatsConnection;
}

export interface Stack {
  lab: Lab;
  config: MarinaConfig;
  /** A client connection for tests: requests, subscriptions. */
  nc: NatsConnection;
  monitor: MonitorHandle | undefined;
  executors: RunningExecutor[];
  deciders: Decider[];
  log: Logger;
  configFile: string;
  startDecider(id: string, extra?: Pick<DeciderOptions, "record">): Promise<Decider>;
  startExecutor(id: string): Promise<RunningExecutor>;
  /** A decider as its own OS process (for SIGSTOP / kill tests). */
  spawnDecider(id: string, extraArgs?: string[]): ChildProcess;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Path of a service's compiled main.js. */
export function serviceMain(
  pkg: "@marina/decider" | "@marina/monitor" | "@marina/executor",
): string {
  return join(require.resolve(pkg), "..", "main.js");
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const log = o.log ?? pino({ level: process.env.MARINA_LOG_LEVEL ?? "silent" });
  const lab = await startLab({ shape: "primary-replicas", nodes: 3, ...o.lab });
  const children: ChildProcess[] = [];
  const executors: RunningExecutor[] = [];
  const deciders: Decider[] = [];
  let monitor: MonitorHandle | undefined;
  let nc: NatsConnection | undefined;
  try {
    const config = configFromLab(lab, { semiSync: o.lab?.semiSync ?? false, ...o.config });
    const configFile = join(lab.dir, "marina.json");
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    nc = await connect({ servers: config.nats.servers });
    const client = nc;
    const stack: Stack = {
      lab,
      config,
      nc: client,
      monitor,
      executors,
      deciders,
      log,
      configFile,
      async startDecider(id, extra = {}) {
        const dnc = await connect({ servers: config.nats.servers, name: id });
        const app = await buildDecider({
          config,
          id,
          nc: dnc,
          log: log.child({ decider: id }),
          ...(o.leaseTtlMs ? { leaseTtlMs: o.leaseTtlMs } : {}),
          ...extra,
        });
        const d = { id, app, nc: dnc };
        deciders.push(d);
        return d;
      },
      async startExecutor(id) {
        const e = await startExecutor({ config, id, log: log.child({ executor: id }) });
        executors.push(e);
        return e;
      },
      spawnDecider(id, extraArgs = []) {
        const child = spawn(
          process.execPath,
          [serviceMain("@marina/decider"), "--config", configFile, "--id", id, ...extraArgs],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
        children.push(child);
        return child;
      },
      async close() {
        for (const c of children) {
          if (c.exitCode === null && c.signalCode === null) {
            c.kill("SIGCONT");
            c.kill("SIGKILL");
          }
        }
        for (const d of deciders) await d.app.close(false).catch(() => {});
        for (const d of deciders) await d.nc.close().catch(() => {});
        for (const e of executors) await e.close().catch(() => {});
        await monitor?.close().catch(() => {});
        await client.close().catch(() => {});
        await lab.close();
      },
    };
    for (let i = 1; i <= (o.executors ?? 2); i++) await stack.startExecutor(`executor-${i}`);
    for (let i = 1; i <= (o.deciders ?? 1); i++) await stack.startDecider(`decider-${i}`);
    if (o.monitor ?? true) {
      monitor = await startMonitor({
        config,
        monitorId: "m1",
        log: log.child({ svc: "monitor" }),
        http: false,
      });
      await monitor.ready;
      stack.monitor = monitor;
    }
    return stack;
  } catch (err) {
    for (const e of executors) await e.close().catch(() => {});
    for (const d of deciders) await d.app.close(false).catch(() => {});
    await monitor?.close().catch(() => {});
    await nc?.close().catch(() => {});
    await lab.close();
    throw err;
  }
}
