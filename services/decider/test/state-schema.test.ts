import { initialState } from "@marina/decider-core";
import { describe, expect, it } from "vitest";
import { checkPersistedState } from "../src/state-schema.js";

// The shape of the current format; older formats are migrated first (state-format.test.ts).
const stored = (cluster: string) => ({ ...initialState(cluster), writtenBy: null });

describe("the persisted decider state", () => {
  it("accepts a state the core made, with its writer", () => {
    const r = checkPersistedState(JSON.parse(JSON.stringify(stored("main"))));
    expect(r.ok).toBe(true);
    const by = { ...stored("main"), writtenBy: { decider: "decider-a", epoch: 3 } };
    expect(checkPersistedState(by).ok).toBe(true);
  });

  it.each([
    ["an array", [], "(root)"],
    ["an older version (not migrated)", { ...stored("main"), version: 1 }, "version"],
    ["no writer", initialState("main"), "writtenBy"],
    ["an operation that is a string", { ...stored("main"), operation: "x" }, "operation"],
    [
      "an operation without steps",
      {
        ...stored("main"),
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
    ["samples missing", { ...stored("main"), samples: undefined }, "samples"],
    ["failovers of strings", { ...stored("main"), failovers: ["soon"] }, "failovers.0"],
    [
      "a veto hold past any date",
      {
        ...stored("main"),
        vetoHold: { primary: "db1", until: 1e300, opId: "op1", reason: "r", details: {} },
      },
      "vetoHold.until",
    ],
    [
      "a post hook without its record",
      {
        ...stored("main"),
        postHooks: {
          op1: {
            opId: "op1",
            stepId: "op1-post-hook",
            server: "db2",
            step: { kind: "run-hook" },
            attempts: 1,
            sentAt: 1,
            timeoutMs: 12_000,
          },
        },
      },
      "postHooks.op1.record",
    ],
  ])("refuses %s, naming the field", (_what, raw, path) => {
    const r = checkPersistedState(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.startsWith(`${path}:`)).toBe(true);
  });
});
