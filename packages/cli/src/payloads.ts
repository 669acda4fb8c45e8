// Command payloads from what was typed, checked with the contracts' schemas before anything
// is sent: a bad value is a usage error (exit 2) naming the flag or argument, not the field.
import { CommandPayloads, type CommandVerb, check } from "@marina/contracts";
import { CliError } from "./exit-codes.js";

/** The flag or argument each payload field comes from. */
const FIELD_FLAGS: Readonly<Record<string, string>> = {
  target: "<target>",
  server: "<server>",
  opId: "<opId>",
  source: "--source",
  method: "--method",
  compression: "--compression",
  "compression.kind": "--compression",
  "compression.level": "--level",
  tls: "--tls",
  force: "--force",
  acceptLoss: "--accept-loss",
  timeoutMs: "--phase-timeout",
  reason: "--reason",
  dryRun: "--dry-run",
  keep: "--keep",
  olderThanDays: "--older-than-days",
  requestedBy: "the user and host name",
};

export function flagOf(path: string | undefined): string {
  if (path === undefined || path === "") return "the command";
  return FIELD_FLAGS[path] ?? path;
}

/** The payload, or a usage error naming the flag; undefined fields are left out. */
export function checkedPayload(
  verb: CommandVerb,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  const payload = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  const r = check(CommandPayloads[verb], payload);
  if (!r.ok) {
    const flag = flagOf(r.error.path);
    const message = r.error.message.replace(/^[\w.]+: /, "");
    throw new CliError("USAGE", `${flag}: ${message}`, { path: flag });
  }
  return payload;
}

export interface RebuildFlags {
  readonly source?: string | undefined;
  readonly method?: string | undefined;
  readonly compression?: string | undefined;
  readonly level?: number | undefined;
  readonly tls?: boolean | undefined;
}

/** `--compression zstd --level 3` → `{kind: "zstd", level: 3}`. */
export function compressionOf(f: RebuildFlags): Record<string, unknown> | undefined {
  if (f.compression === undefined) {
    if (f.level !== undefined) {
      throw new CliError("USAGE", "--level: needs --compression pigz or zstd", { path: "--level" });
    }
    return undefined;
  }
  return f.level === undefined ? { kind: f.compression } : { kind: f.compression, level: f.level };
}
