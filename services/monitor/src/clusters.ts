// Which clusters a monitor probes: every configured one, or those named by `--clusters a,b`
// (monitors shard by cluster). Pure; an unknown or empty selection is a bad config
// (VALIDATION_FAILED naming the flag: exit code 2).
import { type MarinaConfig, MarinaError } from "@marina/contracts";

/** `a,b` → ["a", "b"] (spaces and empty items ignored, duplicates once). */
export function parseClusterList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
    ),
  ];
}

/** The config with only the named clusters, in the config's order; every name must exist. */
export function selectClusters(
  config: MarinaConfig,
  names: readonly string[] | undefined,
): MarinaConfig {
  if (names === undefined) return config;
  const configured = config.clusters.map((c) => c.name);
  if (names.length === 0) {
    throw new MarinaError("VALIDATION_FAILED", "--clusters names no cluster", {
      path: "--clusters",
    });
  }
  const unknown = names.filter((n) => !configured.includes(n));
  if (unknown.length > 0) {
    const list = unknown.map((n) => `"${n}"`).join(", ");
    throw new MarinaError(
      "VALIDATION_FAILED",
      `--clusters: ${unknown.length === 1 ? "cluster" : "clusters"} ${list} not in the config (configured: ${configured.join(", ")})`,
      { path: "--clusters" },
    );
  }
  return { ...config, clusters: config.clusters.filter((c) => names.includes(c.name)) };
}
