// Recorded probe results (see fixtures/*.json) turned into rows and samples for tests.
import { readFileSync } from "node:fs";
import type { HealthSample, ServerObservation } from "@marina/contracts";
import { splitProbeResult, toObservation } from "../src/observation.js";

interface Recorded {
  servers: Record<string, { host: string; port: number; result: unknown }>;
}

export function recorded(name: "multi-source" | "semi-sync-broken"): Recorded {
  const url = new URL(`./fixtures/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as Recorded;
}

export function observationOf(
  rec: Recorded,
  server: string,
  quiet: ReadonlyMap<string, number | null> = new Map(),
): ServerObservation {
  const s = rec.servers[server];
  if (!s) throw new Error(`no recorded server ${server}`);
  return toObservation(splitProbeResult(s.result, false), quiet);
}

export function sampleOf(
  cluster: string,
  server: string,
  host: string,
  port: number,
  observation: ServerObservation | null,
): HealthSample {
  return {
    cluster,
    server,
    monitor: "m1",
    address: { host, port },
    probe: 1,
    reachable: observation !== null,
    latencyMs: observation ? 1.2 : null,
    consecutiveFailures: observation ? 0 : 1,
    sinceLastSuccessMs: observation ? 0 : 500,
    error: observation ? null : { code: "ECONNREFUSED", message: "refused", kind: "refused" },
    observation,
  };
}
