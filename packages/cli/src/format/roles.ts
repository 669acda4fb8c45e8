// Colours of the words the views share: roles, read_only, situations.
import type { Style } from "./style.js";

export function paintRole(role: string, s: Style): string {
  switch (role) {
    case "primary":
      return s.green(s.bold(role));
    case "down":
    case "diverged":
      return s.red(role);
    case "fenced":
    case "maintenance":
      return s.yellow(role);
    case "unknown":
      return s.dim(role);
    default:
      return role;
  }
}

/** read_only as MariaDB shows it; the surprising value for the role in colour. */
export function paintReadOnly(readOnly: boolean | null, role: string, s: Style): string {
  if (readOnly === null) return s.dim("?");
  if (role === "primary") return readOnly ? s.yellow("ON") : "OFF";
  return readOnly ? "ON" : s.red("OFF");
}

const ALARMING = new Set([
  "PrimaryDead",
  "PrimaryDeadNoCandidate",
  "SplitBrainRisk",
  "OldPrimaryDiverged",
  "ServerDiverged",
  "ReplicaBroken",
  "ReplicaWritable",
]);

/** A situation tag (`Name` or `Name:code`). */
export function paintSituation(tag: string, s: Style): string {
  const name = tag.split(":")[0] ?? tag;
  if (name === "PrimaryHealthy") return s.green(tag);
  if (ALARMING.has(name)) return s.red(tag);
  return s.yellow(tag);
}
