// What systemd would run for a unit, for tests on a machine without an init system: the
// [Service] section's ExecStart as argv (quotes and the %H / %% specifiers as systemd
// reads them) and its EnvironmentFile(s) as variables.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";

export interface ServiceCommand {
  readonly argv: readonly string[];
  readonly environmentFiles: ReadonlyArray<{ readonly path: string; readonly optional: boolean }>;
}

function expandSpecifiers(word: string): string {
  return word.replace(/%(.)/g, (_m, c: string) => {
    if (c === "%") return "%";
    if (c === "H") return hostname();
    throw new Error(`unit specifier %${c} is not supported by this test helper`);
  });
}

/** Splits an ExecStart command line into words: whitespace, "double" and 'single' quotes. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) {
    const word = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3]!);
    words.push(expandSpecifiers(word));
  }
  return words;
}

export function parseServiceUnit(text: string): ServiceCommand {
  let section = "";
  let exec: string | undefined;
  const environmentFiles: Array<{ path: string; optional: boolean }> = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== "Service") continue;
    const eq = line.indexOf("=");
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === "ExecStart") {
      if (exec !== undefined) throw new Error("more than one ExecStart");
      // Prefixes (-, @, :, +, !) change how systemd runs the command; none is expected here.
      if (/^[-@:+!]/.test(value)) throw new Error(`ExecStart prefix not supported: ${value}`);
      exec = value;
    } else if (key === "EnvironmentFile") {
      const optional = value.startsWith("-");
      environmentFiles.push({ path: optional ? value.slice(1) : value, optional });
    }
  }
  if (exec === undefined) throw new Error("no ExecStart in [Service]");
  return { argv: splitCommandLine(exec), environmentFiles };
}

/** KEY=VALUE lines as systemd's EnvironmentFile reads them (comments, blank lines, quotes). */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`not KEY=VALUE: ${line}`);
    const v = m[2]!.trim();
    env[m[1]!] = /^(["']).*\1$/.test(v) ? v.slice(1, -1) : v;
  }
  return env;
}

/** The variables of a unit's EnvironmentFile(s); a missing optional one adds nothing. */
export function unitEnvironment(cmd: ServiceCommand): Record<string, string> {
  const env: Record<string, string> = {};
  for (const f of cmd.environmentFiles) {
    let text: string;
    try {
      text = readFileSync(f.path, "utf8");
    } catch (err) {
      if (f.optional && (err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    Object.assign(env, parseEnvironmentFile(text));
  }
  return env;
}
