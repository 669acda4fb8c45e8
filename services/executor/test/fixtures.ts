import { envelope, MarinaConfig } from "@marina/contracts";
import { pino } from "pino";
import type { Clock } from "../src/clock.js";

export const silentLog = pino({ level: "silent" });

export const CONFIG = MarinaConfig.parse({
  clusters: [
    {
      name: "main",
      servers: [
        { name: "db1", host: "127.0.0.1", port: 3311 },
        { name: "db2", host: "127.0.0.1", port: 3312 },
      ],
      admin: { user: "marina", password: { value: "admin-secret" } },
      replication: { user: "repl", password: { env: "REPL_PW" } },
    },
    {
      name: "other",
      servers: [{ name: "x1", host: "10.0.0.1" }],
      admin: { user: "marina", password: { value: "a" } },
      replication: { user: "repl", password: { value: "r" } },
    },
  ],
});

export const ENV = { REPL_PW: "repl-secret" };

export function request(payload: Record<string, unknown>): string {
  return JSON.stringify(envelope("exec-request", "test", payload));
}

export function execPayload(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cluster: "main",
    server: "db2",
    opId: "op1",
    stepId: "s1",
    epoch: 1,
    step: { kind: "inspect" },
    ...over,
  };
}

/** A clock that moves only when slept on (or told to). */
export class FakeClock implements Clock {
  constructor(public t = 1_000_000) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += Math.max(0, ms);
  }
}
