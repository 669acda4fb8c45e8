import { MarinaError } from "@marina/contracts";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  connectNatsWithRetry,
  leastRecentlyDialled,
  NATS_RETRY,
  NatsAborted,
  natsCredentials,
  natsServers,
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

describe("natsServers", () => {
  it("takes the --nats flag's comma-separated list, else the config's servers", () => {
    expect(natsServers(undefined, ["nats://a:4222"])).toEqual(["nats://a:4222"]);
    expect(natsServers("nats://b:4222", ["nats://a:4222"])).toEqual(["nats://b:4222"]);
    expect(natsServers("nats://b:4222, nats://c:4222,", ["x"])).toEqual([
      "nats://b:4222",
      "nats://c:4222",
    ]);
    expect(natsServers(" , ", ["nats://a:4222"])).toEqual(["nats://a:4222"]);
  });
});

describe("leastRecentlyDialled", () => {
  it("dials a server not tried yet, or the one tried longest ago, never the one just lost", () => {
    // pool[0] is the server nats.js would dial: after a disconnect, the one just lost.
    const lost = { listen: "a", lastConnect: 1_000 };
    const b = { listen: "b", lastConnect: 0 };
    const c = { listen: "c", lastConnect: 0 };
    expect(leastRecentlyDialled([lost, b, c])).toBe(b);
    expect(leastRecentlyDialled([lost, { ...b, lastConnect: 1_200 }, c])).toBe(c);
    // every other one tried since: the lost one again
    const tried = [lost, { ...b, lastConnect: 1_200 }, { ...c, lastConnect: 1_300 }];
    expect(leastRecentlyDialled(tried)).toBe(lost);
    expect(leastRecentlyDialled([])).toBeNull();
  });
});
