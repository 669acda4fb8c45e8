import { parseArgs } from "@marina/runtime";
import { describe, expect, it } from "vitest";
import { AGENT_ARGS } from "../src/args.js";

describe("the agent's flags", () => {
  it("takes only --config, in both forms", () => {
    expect(parseArgs(AGENT_ARGS, ["--config", "agent.yaml"])).toEqual({ config: "agent.yaml" });
    expect(parseArgs(AGENT_ARGS, ["--config=agent.yaml"])).toEqual({ config: "agent.yaml" });
  });

  it.each([
    [[], "--config"],
    [["--config"], "--config"],
    [["--config", "a.yaml", "--id", "x"], "--id"],
    [["--config", "a.yaml", "extra"], "extra"],
  ])("%j fails naming %s", (argv, path) => {
    expect(() => parseArgs(AGENT_ARGS, argv)).toThrow(expect.objectContaining({ path }));
  });
});
