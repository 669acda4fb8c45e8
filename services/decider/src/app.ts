import type { MarinaConfig } from "@marina/contracts";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { ClusterRunner, type RecordedInput, type RunnerDeps } from "./cluster-runner.js";
import { LEASE_BUCKET, Lease, STATE_BUCKET } from "./lease.js";
import { StateStore } from "./store.js";
import { ensureEventsStream } from "./streams.js";

export interface DeciderOptions {
  config: MarinaConfig;
  /** This decider's name, unique among deciders (e.g. `decider-a`). */
  id: string;
  nc: NatsConnection;
  log: Logger;
  /** Lease TTL: a dead leader is replaced after about this long. */
  leaseTtlMs?: number;
  renewEveryMs?: number;
  tickMs?: number;
  now?: () => number;
  /** Tunables of the decision core (step timeouts, retries, binlog-stable wait). */
  coreOptions?: RunnerDeps["coreOptions"];
  /** Record every decider input (for replay fixtures); see RecordedInput. */
  record?: (cluster: string, line: RecordedInput) => void;
}

export interface DeciderApp {
  runners: Map<string, ClusterRunner>;
  leases: Map<string, Lease>;
  /** Stops acting; releases the leases so another decider takes over at once. */
  close(release?: boolean): Promise<void>;
}

export async function buildApp(o: DeciderOptions): Promise<DeciderApp> {
  const ttl = o.leaseTtlMs ?? 3000;
  const js = jetstream(o.nc);
  await ensureEventsStream(await jetstreamManager(o.nc));
  const kvm = new Kvm(js);
  const leaseKv = await kvm.create(LEASE_BUCKET, { ttl, history: 1 });
  const stateKv = await kvm.create(STATE_BUCKET, { history: 1 });
  const runners = new Map<string, ClusterRunner>();
  const leases = new Map<string, Lease>();
  for (const config of o.config.clusters) {
    const log = o.log.child({ cluster: config.name });
    const store = new StateStore(stateKv, config.name);
    let runner: ClusterRunner | undefined;
    const lease = new Lease(leaseKv, stateKv, {
      cluster: config.name,
      holder: o.id,
      ttlMs: ttl,
      renewEveryMs: o.renewEveryMs ?? Math.max(100, Math.floor(ttl / 4)),
      now: () => performance.now(),
      onChange: (leader, epoch) => void runner?.onLeadership(leader, epoch),
      onError: (err) => log.debug({ err }, "lease attempt failed"),
    });
    runner = new ClusterRunner({
      nc: o.nc,
      config,
      lease,
      store,
      id: o.id,
      log,
      now: o.now ?? (() => Date.now()),
      tickMs: o.tickMs ?? 200,
      ...(o.coreOptions ? { coreOptions: o.coreOptions } : {}),
      ...(o.record ? { record: (line: RecordedInput) => o.record?.(config.name, line) } : {}),
    });
    runner.start();
    lease.start();
    runners.set(config.name, runner);
    leases.set(config.name, lease);
  }
  return {
    runners,
    leases,
    async close(release = true) {
      for (const l of leases.values()) await l.stop(release);
      for (const r of runners.values()) await r.close();
    },
  };
}
