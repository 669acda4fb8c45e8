// The decider as a testable unit: per configured cluster a lease and a loop (ClusterRunner)
// over the bus and KV it is given. No I/O happens while building; start() starts the
// subscriptions, ticks and lease attempts. Connections are made in start.ts.
import type { MarinaConfig } from "@marina/contracts";
import type { Logger } from "pino";
import type { Bus } from "./bus.js";
import type { Clock } from "./clock.js";
import { ClusterRunner, type RecordedInput, type RunnerDeps } from "./cluster-runner.js";
import type { DeciderBuckets } from "./kv.js";
import { Lease } from "./lease.js";
import { StateStore } from "./store.js";

/** A dead leader is replaced after about this long. */
export const DEFAULT_LEASE_TTL_MS = 3000;
export const DEFAULT_TICK_MS = 200;

export interface AppDeps {
  readonly bus: Bus;
  /** The lease bucket must have been created with a TTL of `leaseTtlMs`. */
  readonly kv: DeciderBuckets;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: MarinaConfig;
  /** This decider's name, unique among deciders (e.g. `decider-a`). */
  readonly id: string;
  readonly leaseTtlMs?: number;
  readonly renewEveryMs?: number;
  readonly tickMs?: number;
  /** Tunables of the decision core (step timeouts, retries, binlog-stable wait). */
  readonly coreOptions?: RunnerDeps["coreOptions"];
  /** Record every decider input (for replay fixtures); see RecordedInput. */
  readonly record?: (cluster: string, line: RecordedInput) => void;
}

export interface DeciderApp {
  readonly runners: Map<string, ClusterRunner>;
  readonly leases: Map<string, Lease>;
  /** Subscribes and starts competing for the leases. */
  start(): void;
  /** Stops acting; releases the leases so another decider takes over at once. */
  close(release?: boolean): Promise<void>;
}

export function buildApp(deps: AppDeps): DeciderApp {
  const ttl = deps.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const runners = new Map<string, ClusterRunner>();
  const leases = new Map<string, Lease>();
  for (const config of deps.config.clusters) {
    const cluster = config.name;
    const log = deps.log.child({ cluster });
    let runner: ClusterRunner | undefined;
    const lease = new Lease(deps.kv.leases, deps.kv.state, {
      cluster,
      holder: deps.id,
      ttlMs: ttl,
      renewEveryMs: deps.renewEveryMs ?? Math.max(100, Math.floor(ttl / 4)),
      now: () => deps.clock.monotonic(),
      onChange: (leader, epoch) => void runner?.onLeadership(leader, epoch),
      onError: (err) => log.debug({ err }, "lease attempt failed"),
    });
    const record = deps.record;
    runner = new ClusterRunner({
      bus: deps.bus,
      config,
      lease,
      store: new StateStore(deps.kv.state, cluster),
      id: deps.id,
      log,
      now: () => deps.clock.now(),
      tickMs: deps.tickMs ?? DEFAULT_TICK_MS,
      ...(deps.coreOptions ? { coreOptions: deps.coreOptions } : {}),
      ...(record ? { record: (line: RecordedInput) => record(cluster, line) } : {}),
    });
    runners.set(cluster, runner);
    leases.set(cluster, lease);
  }
  return {
    runners,
    leases,
    start() {
      for (const [cluster, runner] of runners) {
        runner.start();
        leases.get(cluster)?.start();
      }
    },
    async close(release = true) {
      for (const l of leases.values()) await l.stop(release);
      for (const r of runners.values()) await r.close();
    },
  };
}
