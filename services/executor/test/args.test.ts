import { parseArgs } from "@marina/runtime";
import { describe, expect, it } from "vitest";
import { EXECUTOR_ARGS } from "../src/args.js";

describe("the executor's flags", () => {
  it("reads flags in both forms", () => {
    expect(parseArgs(EXECUTOR_ARGS, ["--config", "m.yaml"])).toEqual({ config: "m.yaml" });
    expect(
      parseArgs(EXECUTOR_ARGS, [
        "--config=m.yaml",
        "--id",
        "e1",
        "--nats=nats://x:1",
        "--socket-timeout-ms",
        "900",
      ]),
    ).toEqual({ config: "m.yaml", id: "e1", nats: "nats://x:1", "socket-timeout-ms": 900 });
  });

  it.each([
    [[], "--config"],
    [["--config"], "--config"],
    [["--config", "m", "--bogus", "1"], "--bogus"],
    [["--config", "m", "--connect-timeout-ms", "0"], "--connect-timeout-ms"],
  ])("%j fails naming %s", (argv, path) => {
    expect(() => parseArgs(EXECUTOR_ARGS, argv)).toThrow(expect.objectContaining({ path }));
  });
});
