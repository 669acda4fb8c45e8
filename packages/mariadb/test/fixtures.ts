// Probe results recorded from the lab (fixtures/*.json): what the connector answered to
// the multi-statement probe, per server.
import { readFileSync } from "node:fs";
import type { ServerObservation } from "@marina/contracts";
import { splitProbeResult, toObservation } from "../src/index.js";

export interface Recorded {
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
