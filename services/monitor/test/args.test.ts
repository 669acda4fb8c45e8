import { parseArgs } from "@marina/runtime";
import { describe, expect, it } from "vitest";
import { MONITOR_ARGS } from "../src/args.js";

describe("the monitor's flags", () => {
  it("reads every flag, --id and its older spelling --monitor-id", () => {
    expect(
      parseArgs(MONITOR_ARGS, [
        "--config",
        "m.yaml",
        "--monitor-id=m1",
        "--http-port",
        "9101",
        "--nats=nats://x:1",
      ]),
    ).toEqual({ config: "m.yaml", "monitor-id": "m1", "http-port": 9101, nats: "nats://x:1" });
    expect(parseArgs(MONITOR_ARGS, ["--config", "m.yaml", "--id", "m2"])).toEqual({
      config: "m.yaml",
      id: "m2",
    });
    expect(parseArgs(MONITOR_ARGS, ["--config", "m.yaml", "--clusters", "c1,c2"])).toEqual({
      config: "m.yaml",
      clusters: "c1,c2",
    });
  });

  it.each([
    [[], /--config is required/],
    [["--config", "a", "--http-port", "http"], /--http-port must be an integer/],
    [["--config", "a", "--monitor-id", "a b"], /--monitor-id must be/],
  ])("%j fails with %s", (argv, msg) => {
    expect(() => parseArgs(MONITOR_ARGS, argv)).toThrow(msg);
  });
});
