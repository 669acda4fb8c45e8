import { parseArgs } from "@marina/runtime";
import { describe, expect, it } from "vitest";
import { apiSettingsOf, DECIDER_ARGS, sharingOptions, stateFormatFlag } from "../src/args.js";
import { config } from "./fixtures.js";

describe("the decider's flags", () => {
  it("reads flags in both forms", () => {
    expect(parseArgs(DECIDER_ARGS, ["--config", "m.yaml"])).toEqual({ config: "m.yaml" });
    expect(
      parseArgs(DECIDER_ARGS, [
        "--config=m.yaml",
        "--id",
        "decider-a",
        "--nats=nats://x:1",
        "--lease-ttl-ms",
        "1500",
      ]),
    ).toEqual({ config: "m.yaml", id: "decider-a", nats: "nats://x:1", "lease-ttl-ms": 1500 });
  });

  it("reads the sharing settings; absent ones stay absent (their defaults apply)", () => {
    const args = parseArgs(DECIDER_ARGS, [
      "--config=m.yaml",
      "--free-lease-grace-ms=2000",
      "--handover-stable-ms",
      "10000",
      "--handover-backoff-ms=60000",
    ]);
    expect(sharingOptions(args)).toEqual({
      freeGraceMs: 2000,
      handoverStableMs: 10_000,
      handoverBackoffMs: 60_000,
    });
    expect(sharingOptions(parseArgs(DECIDER_ARGS, ["--config=m.yaml"]))).toEqual({});
  });

  it("reads --state-format, refusing a format this release does not write", () => {
    const parse = (f: string) => stateFormatFlag(parseArgs(DECIDER_ARGS, ["--config=m", f]));
    expect(parse("--state-format=1")).toBe(1);
    expect(stateFormatFlag(parseArgs(DECIDER_ARGS, ["--config=m"]))).toBeUndefined();
    expect(() => parse("--state-format=99")).toThrow(
      expect.objectContaining({ code: "VALIDATION_FAILED", path: "--state-format" }),
    );
  });

  it.each([
    [["--config", "m", "--handover-stable-ms", "0"], "--handover-stable-ms"],
    [[], "--config"],
    [["-c", "m.yaml"], "-c"],
    [["--config", "m", "--bogus", "1"], "--bogus"],
    [["--config", "m", "--lease-ttl-ms", "0"], "--lease-ttl-ms"],
    [["--config", "m", "--lease-ttl-ms", "3s"], "--lease-ttl-ms"],
    [["--config", "m", "--id", "a b"], "--id"],
  ])("%j fails naming %s", (argv, path) => {
    expect(() => parseArgs(DECIDER_ARGS, argv)).toThrow(expect.objectContaining({ path }));
  });

  it("serves the HTTP API as the config says, on --api-port when given (the defaults without api)", () => {
    const args = (...a: string[]) => parseArgs(DECIDER_ARGS, ["--config=m.yaml", ...a]);
    expect(apiSettingsOf(args(), config)).toBeUndefined();
    expect(apiSettingsOf(args("--api-port", "0"), config)).toMatchObject({
      host: "127.0.0.1",
      port: 0,
      tokens: [],
      openReads: false,
    });
    const withApi = {
      ...config,
      api: { ...apiSettingsOf(args("--api-port=9110"), config)!, openReads: true },
    };
    expect(apiSettingsOf(args(), withApi)).toMatchObject({ port: 9110, openReads: true });
    expect(apiSettingsOf(args("--api-port=9200"), withApi)).toMatchObject({
      port: 9200,
      openReads: true,
    });
    expect(() => args("--api-port=70000")).toThrow(/api-port/);
  });
});
