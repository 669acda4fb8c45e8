import { describe, expect, it } from "vitest";
import { defaultMonitorId, parseArgs } from "../src/args.js";

describe("parseArgs", () => {
  it("reads every flag in both spellings", () => {
    expect(
      parseArgs([
        "--config",
        "m.yaml",
        "--monitor-id=m1",
        "--http-port",
        "9101",
        "--nats=nats://x:1",
      ]),
    ).toEqual({ config: "m.yaml", monitorId: "m1", httpPort: 9101, nats: "nats://x:1" });
  });

  it.each([
    [[], /--config is required/],
    [["--config"], /--config needs a value/],
    [["--config", "a", "--bogus", "1"], /unknown argument "--bogus"/],
    [["--config", "a", "--http-port", "http"], /--http-port must be an integer/],
    [["--config", "a", "--monitor-id", "a b"], /--monitor-id must be/],
  ])("%j fails with %s", (argv, msg) => {
    expect(() => parseArgs(argv)).toThrow(msg);
  });

  it("derives a safe default id from the host name", () => {
    expect(defaultMonitorId("db-host.example")).toBe("db-host.example");
    expect(defaultMonitorId("--weird host")).toBe("weird-host");
    expect(defaultMonitorId("")).toBe("monitor");
  });
});
