import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { LabError, LabErrorCode } from "./errors.js";

// Debian puts servers in /usr/sbin, which is not on every PATH (e.g. an ssh session's).
const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/usr/local/bin"];
const cache = new Map<string, string>();

/** Absolute path of an executable, searched in PATH then the sbin directories. */
export function resolveBinary(name: string): string {
  const hit = cache.get(name);
  if (hit) return hit;
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      cache.set(name, candidate);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new LabError(
    LabErrorCode.StartFailed,
    `${name} not found (install Debian's mariadb-server / nats-server packages)`,
  );
}
