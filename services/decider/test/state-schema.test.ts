import { initialState } from "@marina/decider-core";
import { describe, expect, it } from "vitest";
import { checkPersistedState } from "../src/state-schema.js";

describe("the persisted decider state", () => {
  it("accepts a state the core made", () => {
    const r = checkPersistedState(JSON.parse(JSON.stringify(initialState("main"))));
    expect(r.ok).toBe(true);
  });

  it.each([
    ["an array", [], "(root)"],
    ["a wrong version", { ...initialState("main"), version: 2 }, "version"],
    ["an operation that is a string", { ...initialState("main"), operation: "x" }, "operation"],
    [
      "an operation without steps",
      {
        ...initialState("main"),
        operation: {
          opId: "op-1",
          kind: "failover",
          phase: "",
          startedAt: 1,
          plan: { kind: "failover" },
          servers: {},
        },
      },
      "operation.steps",
    ],
    ["samples missing", { ...initialState("main"), samples: undefined }, "samples"],
    ["failovers of strings", { ...initialState("main"), failovers: ["soon"] }, "failovers.0"],
  ])("refuses %s, naming the field", (_what, raw, path) => {
    const r = checkPersistedState(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.startsWith(`${path}:`)).toBe(true);
  });
});
