// Recorded probe results turned into rows and samples for tests. The recordings are of
// @marina/mariadb's probe and live with it (packages/mariadb/test/fixtures/*.json).
import type { HealthSample, ServerObservation } from "@marina/contracts";

export { observationOf, recorded } from "../../../packages/mariadb/test/fixtures.js";

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
