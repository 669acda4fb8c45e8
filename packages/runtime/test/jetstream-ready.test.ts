import { describe, expect, it } from "vitest";
import { createLogger, jetStreamNotReady, untilJetStreamReady } from "../src/index.js";

const log = createLogger({ service: "test", level: "silent" });
const timeout = Object.assign(new Error("timeout"), { name: "TimeoutError" });
const noResponders = Object.assign(new Error("503"), { isNoResponders: () => true });

describe("JetStream setup at start", () => {
  it.each([
    ["a request timeout", timeout, true],
    ["no responders", noResponders, true],
    ["a 503", Object.assign(new Error("x"), { code: 503 }), true],
    [
      "a stream configured differently",
      new Error("stream name already in use with a different configuration"),
      false,
    ],
    ["permissions", new Error("Permissions Violation for Publish"), false],
  ])("%s is %s worth waiting for", (_what, err, expected) => {
    expect(jetStreamNotReady(err)).toBe(expected);
  });

  it("waits while JetStream is not ready, then returns what setup made", async () => {
    let calls = 0;
    const r = await untilJetStreamReady(
      "bucket",
      async () => {
        calls += 1;
        if (calls < 3) throw timeout;
        return "made";
      },
      log,
    );
    expect([r, calls]).toEqual(["made", 3]);
  });

  it("does not retry another error, nor after the signal", async () => {
    await expect(
      untilJetStreamReady(
        "bucket",
        () => Promise.reject(new Error("different configuration")),
        log,
      ),
    ).rejects.toThrow("different configuration");
    const ac = new AbortController();
    ac.abort();
    await expect(
      untilJetStreamReady("bucket", () => Promise.reject(timeout), log, ac.signal),
    ).rejects.toBe(timeout);
  });
});
