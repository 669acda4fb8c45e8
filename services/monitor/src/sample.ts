// Pure bookkeeping of one server's probe history: the probe number, consecutive failures
// and time since the last success, turned into the contract's HealthSample.
import type { HealthSample, ServerObservation } from "@marina/contracts";
import type { ProbeError } from "@marina/mariadb";

export interface ServerIdentity {
  readonly cluster: string;
  readonly server: string;
  readonly monitor: string;
  readonly host: string;
  readonly port: number;
}

export interface ProbeCounters {
  /** Number of the last sample published (0 before the first). */
  readonly probe: number;
  readonly consecutiveFailures: number;
  /** Monitor time (ms) of the last success; null when never reached. */
  readonly lastSuccessAt: number | null;
}

export const initialCounters: ProbeCounters = {
  probe: 0,
  consecutiveFailures: 0,
  lastSuccessAt: null,
};

export type ProbeOutcome =
  | { readonly ok: true; readonly latencyMs: number; readonly observation: ServerObservation }
  | { readonly ok: false; readonly error: ProbeError };

export function nextSample(
  id: ServerIdentity,
  counters: ProbeCounters,
  outcome: ProbeOutcome,
  now: number,
): { counters: ProbeCounters; sample: HealthSample } {
  const probe = counters.probe + 1;
  const base = {
    cluster: id.cluster,
    server: id.server,
    monitor: id.monitor,
    address: { host: id.host, port: id.port },
    probe,
  };
  if (outcome.ok) {
    return {
      counters: { probe, consecutiveFailures: 0, lastSuccessAt: now },
      sample: {
        ...base,
        reachable: true,
        latencyMs: Math.max(0, Math.round(outcome.latencyMs * 1000) / 1000),
        consecutiveFailures: 0,
        sinceLastSuccessMs: 0,
        error: null,
        observation: outcome.observation,
      },
    };
  }
  const consecutiveFailures = counters.consecutiveFailures + 1;
  return {
    counters: { probe, consecutiveFailures, lastSuccessAt: counters.lastSuccessAt },
    sample: {
      ...base,
      reachable: false,
      latencyMs: null,
      consecutiveFailures,
      sinceLastSuccessMs:
        counters.lastSuccessAt === null
          ? null
          : Math.max(0, Math.round(now - counters.lastSuccessAt)),
      error: outcome.error,
      observation: null,
    },
  };
}
