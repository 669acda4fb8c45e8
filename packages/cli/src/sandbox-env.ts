// A running sandbox (`pnpm sandbox`) leaves its NATS URL and operator identity in a file of
// environment lines, so that `pnpm marina status` in another terminal finds it without
// flags. The names are the CLI's own variables (MARINA_NATS, MARINA_NATS_USER,
// MARINA_NATS_PASSWORD); `MARINA_SANDBOX_PID` says whose it is, and a file whose sandbox is
// gone is ignored. packages/sandbox/src/sandbox.ts writes it at this same path.
import { readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function sandboxEnvFile(dir: string = tmpdir()): string {
  return join(dir, "marina-sandbox.env");
}

/** `KEY=value` and `KEY='value'` lines; comments and anything else are skipped. */
export function parseEnvLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const raw = m[2]!.trim();
    out[m[1]!] =
      raw.startsWith("'") && raw.endsWith("'") && raw.length >= 2 ? raw.slice(1, -1) : raw;
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The running sandbox's settings, or undefined: no file, unreadable, its sandbox gone, or
 * not a file of this user's that only this user may write (the directory is shared, and a
 * planted file would point `marina` at someone else's server).
 */
export function readSandboxEnv(
  file: string = sandboxEnvFile(),
): Record<string, string> | undefined {
  let text: string;
  try {
    const st = statSync(file);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
      return undefined;
    }
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const env = parseEnvLines(text);
  const pid = Number(env.MARINA_SANDBOX_PID);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  return env;
}
