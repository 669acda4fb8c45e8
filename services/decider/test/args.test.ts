import { parseArgs } from "@marina/runtime";
import { describe, expect, it } from "vitest";
import { DECIDER_ARGS } from "../src/args.js";

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

  it.each([
    [[], "--config"],
    [["-c", "m.yaml"], "-c"],
    [["--config", "m", "--bogus", "1"], "--bogus"],
    [["--config", "m", "--lease-ttl-ms", "0"], "--lease-ttl-ms"],
    [["--config", "m", "--lease-ttl-ms", "3s"], "--lease-ttl-ms"],
    [["--config", "m", "--id", "a b"], "--id"],
  ])("%j fails naming %s", (argv, path) => {
    expect(() => parseArgs(DECIDER_ARGS, argv)).toThrow(expect.objectContaining({ path }));
  });
});
