// Shared helpers for the monitor's integration tests: a config for a lab, and a real NATS
// subscriber that records every health and observed-topology message with its arrival time.
import {
  HealthMessage,
  type HealthSample,
  MarinaConfig,
  type ObservedTopology,
  ObservedTopologyMessage,
  parseMessage,
} from "@marina/contracts";
import type { Lab } from "@marina/lab";
import { waitFor } from "@marina/lab";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";

export function testLogger(): Logger {
  return pino({ level: process.env.MONITOR_TEST_LOG ?? "silent" });
}

export function labConfig(
  lab: Lab,
  monitor: Partial<MarinaConfig["clusters"][number]["monitor"]> = {},
  cluster = "main",
): MarinaConfig {
  return MarinaConfig.parse({
    nats: { servers: [lab.nats?.url ?? "nats://127.0.0.1:1"] },
    clusters: [
      {
        name: cluster,
        servers: lab.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port })),
        admin: {
          user: lab.credentials.marina.user,
          password: { value: lab.credentials.marina.password },
        },
        // The monitor probes with the lab's read-only account (SLAVE MONITOR, PROCESS).
        monitorAccount: {
          user: lab.credentials.monitor.user,
          password: { value: lab.credentials.monitor.password },
        },
        replication: {
          user: lab.credentials.repl.user,
          password: { value: lab.credentials.repl.password },
        },
        monitor,
      },
    ],
  });
}

export interface Received<T> {
  readonly at: number;
  readonly source: string;
  readonly payload: T;
}

/** Subscribes to every health and observed message of a cluster on a real NATS server. */
export class Recorder {
  readonly health: Received<HealthSample>[] = [];
  readonly observed: Received<ObservedTopology>[] = [];
  readonly invalid: string[] = [];
  private constructor(
    readonly nc: NatsConnection,
    private readonly subs: Subscription[],
  ) {}

  static async start(url: string, cluster = "main"): Promise<Recorder> {
    const nc = await connect({ servers: url });
    const r = new Recorder(nc, []);
    const h = nc.subscribe(`marina.v1.${cluster}.health.*`, {
      callback: (_err, msg) => {
        const p = parseMessage(HealthMessage, msg.data);
        if (!p.ok) r.invalid.push(p.error.message);
        else
          r.health.push({
            at: performance.now(),
            source: p.value.source,
            payload: p.value.payload,
          });
      },
    });
    const o = nc.subscribe(`marina.v1.${cluster}.observed`, {
      callback: (_err, msg) => {
        const p = parseMessage(ObservedTopologyMessage, msg.data);
        if (!p.ok) r.invalid.push(p.error.message);
        else
          r.observed.push({
            at: performance.now(),
            source: p.value.source,
            payload: p.value.payload,
          });
      },
    });
    r.subs.push(h, o);
    await nc.flush();
    return r;
  }

  of(server: string): Received<HealthSample>[] {
    return this.health.filter((h) => h.payload.server === server);
  }

  /** Waits for a health sample of `server` matching `pred` that arrived after `after`. */
  async waitHealth(
    server: string,
    pred: (s: HealthSample) => boolean,
    opts: { after?: number; timeoutMs?: number; message?: string } = {},
  ): Promise<Received<HealthSample>> {
    const after = opts.after ?? -1;
    return waitFor(() => this.of(server).find((h) => h.at > after && pred(h.payload)), {
      timeoutMs: opts.timeoutMs ?? 30_000,
      intervalMs: 10,
      message: opts.message ?? `a health sample of ${server}`,
      describe: () =>
        JSON.stringify(
          this.of(server)
            .slice(-3)
            .map((h) => h.payload),
        ),
    });
  }

  async waitObserved(
    pred: (t: ObservedTopology) => boolean,
    opts: { timeoutMs?: number; message?: string } = {},
  ): Promise<ObservedTopology> {
    const r = await waitFor(() => this.observed.find((o) => pred(o.payload)), {
      timeoutMs: opts.timeoutMs ?? 30_000,
      intervalMs: 10,
      message: opts.message ?? "an observed topology",
      describe: () => JSON.stringify(this.observed.at(-1)?.payload ?? null),
    });
    return r.payload;
  }

  async close(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    await this.nc.close();
  }
}
