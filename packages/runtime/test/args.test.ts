import { describe, expect, it } from "vitest";
import { defaultId, parseArgs, SERVICE_FLAGS, usage } from "../src/index.js";

const SPEC = {
  program: "marina-test",
  flags: {
    ...SERVICE_FLAGS,
    "http-port": { kind: "port", example: "9101" },
    "timeout-ms": { kind: "positive-int", example: "1000" },
  },
} as const;

describe("parseArgs", () => {
  it("reads every flag in both spellings, typed by kind", () => {
    const a = parseArgs(SPEC, [
      "--config",
      "m.yaml",
      "--id=m1",
      "--http-port",
      "9101",
      "--nats=nats://x:1",
      "--timeout-ms",
      "900",
    ]);
    expect(a).toEqual({
      config: "m.yaml",
      id: "m1",
      "http-port": 9101,
      nats: "nats://x:1",
      "timeout-ms": 900,
    });
    expect(parseArgs(SPEC, ["--config=a"])).toEqual({ config: "a" });
  });

  it.each([
    [[], "--config", /--config is required; usage: marina-test --config marina.yaml/],
    [["--config"], "--config", /--config needs a value/],
    [["--config="], "--config", /--config needs a value/],
    [["--config", "a", "--bogus", "1"], "--bogus", /unknown argument "--bogus"/],
    [["--config", "a", "positional"], "positional", /unknown argument "positional"/],
    [["--config", "a", "--http-port", "http"], "--http-port", /--http-port must be an integer/],
    [["--config", "a", "--http-port", "65536"], "--http-port", /0-65535/],
    [["--config", "a", "--timeout-ms", "0"], "--timeout-ms", /positive integer/],
    [["--config", "a", "--timeout-ms", "1.5"], "--timeout-ms", /positive integer/],
    [["--config", "a", "--id", "a b"], "--id", /--id must be/],
    [["--config", "a", "--id", "-x"], "--id", /--id must be/],
    [["--config", "a", "--toString", "1"], "--toString", /unknown argument/],
  ])("%j fails naming %s", (argv, path, msg) => {
    expect(() => parseArgs(SPEC, argv)).toThrow(msg);
    expect(() => parseArgs(SPEC, argv)).toThrow(
      expect.objectContaining({ code: "VALIDATION_FAILED", path }),
    );
  });

  it("prints a usage line from the spec", () => {
    expect(usage(SPEC)).toBe(
      "usage: marina-test --config marina.yaml [--id name] [--nats nats://host:4222[,nats://host2:4222]] [--http-port 9101] [--timeout-ms 1000]",
    );
  });

  it("collects a repeatable flag's values in order, [] when absent", () => {
    const spec = {
      program: "marina-test",
      flags: {
        route: { kind: "text", repeatable: true, example: "host:6222" },
        port: { kind: "port", repeatable: true, required: true, example: "1" },
      },
    } as const;
    const a = parseArgs(spec, ["--route", "a:1", "--port=2", "--route=b:2", "--port", "3"]);
    expect(a).toEqual({ route: ["a:1", "b:2"], port: [2, 3] });
    expect(parseArgs(spec, ["--port", "1"]).route).toEqual([]);
    expect(() => parseArgs(spec, [])).toThrow(/--port is required/);
    expect(() => parseArgs(spec, ["--port", "x"])).toThrow(/--port must be an integer/);
    expect(usage(spec)).toBe("usage: marina-test [--route host:6222]... --port 1...");
  });

  it("derives a safe default id", () => {
    expect(defaultId("db-host.example", "m")).toBe("db-host.example");
    expect(defaultId("--weird host", "m")).toBe("weird-host");
    expect(defaultId("", "monitor")).toBe("monitor");
    expect(defaultId("h".repeat(200), "m")).toHaveLength(128);
  });
});
