import { describe, expect, it } from "vitest";
import { parseArgs } from "../src/args.js";

describe("parseArgs", () => {
  it("reads flags in both forms and defaults the id", () => {
    expect(parseArgs(["--config", "m.yaml"], "h-1")).toEqual({
      config: "m.yaml",
      id: "h-1",
      nats: undefined,
      connectTimeoutMs: undefined,
      socketTimeoutMs: undefined,
    });
    expect(
      parseArgs([
        "--config=m.yaml",
        "--id",
        "e1",
        "--nats=nats://x:1",
        "--socket-timeout-ms",
        "900",
      ]),
    ).toMatchObject({ config: "m.yaml", id: "e1", nats: "nats://x:1", socketTimeoutMs: 900 });
  });

  it.each([
    [[], "--config"],
    [["--config"], "--config"],
    [["--config", "m", "--bogus", "1"], "--bogus"],
    [["--config", "m", "--connect-timeout-ms", "0"], "--connect-timeout-ms"],
  ])("%j fails naming %s", (argv, path) => {
    expect(() => parseArgs(argv, "h")).toThrow(expect.objectContaining({ path }));
  });
});
