import { MarinaError } from "@marina/contracts";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  connectNatsWithRetry,
  NATS_RETRY,
  NatsAborted,
  natsCredentials,
} from "../src/index.js";

describe("the NATS retry policy", () => {
  it("doubles from 250 ms to a 5 s cap", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffDelay(NATS_RETRY, n));
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it("stops retrying when aborted", async () => {
    const abort = new AbortController();
    const connecting = connectNatsWithRetry({
      servers: ["nats://127.0.0.1:1"],
      name: "t",
      log: pino({ level: "silent" }),
      signal: abort.signal,
      retry: { backoffMinMs: 10, backoffMaxMs: 10 },
    });
    setTimeout(() => abort.abort(), 50);
    await expect(connecting).rejects.toBeInstanceOf(NatsAborted);
  });
});

describe("natsCredentials", () => {
  it("resolves the password and names the field when its variable is missing", () => {
    expect(natsCredentials({ servers: [], user: "u", password: { env: "P" } }, { P: "x" })).toEqual(
      {
        user: "u",
        pass: "x",
      },
    );
    expect(natsCredentials({ servers: [] }, {})).toEqual({});
    expect(() => natsCredentials({ servers: [], password: { env: "NOPE" } }, {})).toThrow(
      expect.objectContaining({ path: "nats.password", code: "VALIDATION_FAILED" }),
    );
    expect(() => natsCredentials({ servers: [], password: { env: "NOPE" } }, {})).toThrow(
      MarinaError,
    );
  });
});
