import { MarinaError } from "@marina/contracts";
import type { ToolPaths } from "@marina/hostops";
import type { Logger } from "pino";
import type { AgentConfig, AgentServerConfig } from "../config.js";
import type { HostBackend } from "../host/backend.js";
import type { AgentPhase, AgentProgress } from "../messages.js";
import type { OpRecord } from "./registry.js";

/** What an action needs from the agent around it. */
export interface OpContext {
  readonly cfg: AgentConfig;
  readonly paths: ToolPaths;
  readonly log: Logger;
  /** Wall clock in ms (injected so tests and replays control it). */
  readonly now: () => number;
  /** The host a server is on: this one, or one reached over SSH. */
  readonly host: (server: AgentServerConfig) => HostBackend;
  /** Environment for mariadb-backup: MYSQL_PWD carries the password, never argv. */
  readonly backupEnv: NodeJS.ProcessEnv;
  readonly publishProgress: (p: AgentProgress) => void;
}

/** A long action: the first reply's data, and the final data (or a MarinaError). */
export interface LongAction {
  readonly accepted: Record<string, unknown>;
  readonly done: Promise<Record<string, unknown>>;
}

/** Runs one named phase: records its duration, checks cancellation before it starts. */
export async function phase<T>(
  rec: OpRecord,
  timings: Record<string, number>,
  name: AgentPhase,
  fn: () => Promise<T>,
): Promise<T> {
  throwIfCancelled(rec);
  rec.phase = name;
  const start = performance.now();
  try {
    return await fn();
  } finally {
    timings[name] = (timings[name] ?? 0) + Math.round(performance.now() - start);
  }
}

export function throwIfCancelled(rec: OpRecord): void {
  if (rec.controller.signal.aborted) {
    const reason = rec.controller.signal.reason;
    throw new MarinaError("CANCELLED", typeof reason === "string" ? reason : "cancelled");
  }
}

/**
 * A limit the request carries over a whole action: `left(capMs, what)` is what a phase may
 * take (its own cap, or what is left of the limit if less); TIMEOUT once it is used up.
 */
export function budget(now: () => number, limitMs: number) {
  const end = now() + limitMs;
  return (capMs: number, what: string): number => {
    const left = end - now();
    if (left <= 0) {
      throw new MarinaError("TIMEOUT", `${what}: the request's limit of ${limitMs} ms is used up`);
    }
    return Math.min(capMs, left);
  };
}

/** Rejects with TIMEOUT after `ms` unless `p` settles first. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new MarinaError("TIMEOUT", `${what}: no result in ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Re-labels a validation error of an argv builder with the request field it came from
 * (`to.address` -> `payload.request.to.address`), so the decider sees which field to fix.
 */
export function requestField<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof MarinaError && err.code === "VALIDATION_FAILED" && err.path) {
      const path = `payload.request.${err.path}`;
      throw new MarinaError(
        "VALIDATION_FAILED",
        `${path}: ${err.message.replace(/^[^:]*: /, "")}`,
        {
          path,
          cause: err,
        },
      );
    }
    throw err;
  }
}
