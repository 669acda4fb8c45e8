// The decider state's formats: recorded format-1 states (the release before formats were
// versioned) read and migrated, every format written and read back, older shapes filled in,
// and newer formats refused rather than guessed at.
import { type DeciderState, initialState, STATE_FORMAT } from "@marina/decider-core";
import { describe, expect, it } from "vitest";
import { OLDEST_FORMATS } from "../src/formats.js";
import {
  convertState,
  decodeState,
  encodeState,
  STATE_DOWNGRADES,
  STATE_MIGRATIONS,
  stateFormatOf,
} from "../src/state-format.js";
import { formatOne } from "./format-fixtures.js";

function ok(raw: unknown, reads?: number) {
  const d = decodeState(raw, reads);
  if (d.kind !== "ok") throw new Error(`not decoded: ${JSON.stringify(d)}`);
  return d;
}

describe("recorded format-1 states", () => {
  it("a state after a failover reads with its decisions, as the current format", () => {
    const raw = formatOne("state-after-failover");
    const d = ok(raw);
    expect(d.format).toBe(1);
    expect(d.writtenBy).toBeNull();
    expect(d.state.version).toBe(STATE_FORMAT);
    expect(d.state.primary).toBe("db2");
    expect(d.state.failovers).toEqual(raw.failovers);
    expect(d.state.failovers).toHaveLength(1);
    expect(d.state.maintenance.db3?.reason).toBe("kernel upgrade");
    expect(Object.keys(d.state.exPrimaries)).toEqual(["db1"]);
    expect(d.state.history.map((h) => [h.kind, h.state])).toEqual([["failover", "succeeded"]]);
    expect(d.state.topology.generation).toBe(4);
  });

  it("a state in the middle of a failover reads with its running operation", () => {
    const d = ok(formatOne("state-mid-failover"));
    const op = d.state.operation;
    expect(op?.kind).toBe("failover");
    expect(op?.phase).toBe("drain");
    expect(op?.steps.map((s) => [s.key, s.status])).toEqual([
      ["inspect-db2", "ok"],
      ["inspect-db3", "ok"],
      ["drain", "sent"],
    ]);
    expect(op?.agentCalls).toEqual([]);
  });

  it("is written back in format 1 exactly as that release wrote it", () => {
    for (const name of ["state-after-failover", "state-mid-failover"] as const) {
      const raw = formatOne(name);
      expect(encodeState(ok(raw).state, 1, { decider: "d", epoch: 9 })).toEqual(raw);
    }
  });
});

describe("migrations", () => {
  it("cover every format up to the current one, both ways", () => {
    for (let v = OLDEST_FORMATS.state; v < STATE_FORMAT; v++) {
      expect(STATE_MIGRATIONS[v], `${v} → ${v + 1}`).toBeTypeOf("function");
      expect(STATE_DOWNGRADES[v + 1], `${v + 1} → ${v}`).toBeTypeOf("function");
    }
  });

  const full = formatOne("state-after-failover");
  const { writesRestored: _w, rebuildFailures: _r, ...older } = full;
  const op = formatOne("state-mid-failover");
  const { agentCalls: _a, ...olderOp } = op.operation as Record<string, unknown>;

  it.each([
    [
      "a complete format-1 state gains version 2 and no writer",
      full,
      { ...full, version: 2, writtenBy: null },
    ],
    [
      "one of a release before writesRestored and rebuildFailures gets them empty",
      older,
      { ...older, version: 2, writesRestored: {}, rebuildFailures: {}, writtenBy: null },
    ],
    [
      "an operation of a release before agent calls gets none",
      { ...op, operation: olderOp },
      { ...op, version: 2, operation: { ...olderOp, agentCalls: [] }, writtenBy: null },
    ],
    [
      "what is there is kept",
      { ...full, writesRestored: { db2: { opId: "op-1", sentAt: 5 } } },
      {
        ...full,
        version: 2,
        writesRestored: { db2: { opId: "op-1", sentAt: 5 } },
        writtenBy: null,
      },
    ],
  ])("1 → 2: %s", (_what, from, to) => {
    const before = structuredClone(from);
    expect(STATE_MIGRATIONS[1]!(from)).toEqual(to);
    expect(from).toEqual(before); // pure: the input is left as it was
  });

  it("2 → 1 drops the writer and says version 1", () => {
    const two = { ...full, version: 2, writtenBy: { decider: "d", epoch: 3 } };
    expect(STATE_DOWNGRADES[2]!(two)).toEqual(full);
    expect(convertState(convertState(full, 1, 2), 2, 1)).toEqual(full);
  });
});

describe("reading and writing", () => {
  const state: DeciderState = { ...initialState("main"), primary: "db1", failovers: [7] };
  const writer = { decider: "decider-b", epoch: 12 };

  it("writes the current format with its writer, and reads it back", () => {
    const record = encodeState(state, STATE_FORMAT, writer);
    expect(record).toMatchObject({ version: STATE_FORMAT, writtenBy: writer });
    const d = ok(JSON.parse(JSON.stringify(record)));
    expect(d).toEqual({ kind: "ok", state, format: STATE_FORMAT, writtenBy: writer });
  });

  it("writes format 1 for an older reader, which the current one reads too", () => {
    const record = encodeState(state, 1, writer);
    expect(record.version).toBe(1);
    expect(record).not.toHaveProperty("writtenBy");
    expect(ok(record)).toEqual({ kind: "ok", state, format: 1, writtenBy: null });
  });

  it.each([
    ["a newer format", { version: STATE_FORMAT + 1 }, undefined, STATE_FORMAT + 1],
    ["a far newer one", { version: 99, cluster: 5 }, undefined, 99],
    ["the current one, by a decider that reads only format 1", {}, 1, STATE_FORMAT],
  ])("refuses %s as unsupported, shape unseen", (_what, over, reads, format) => {
    const raw = { ...encodeState(state, STATE_FORMAT, writer), ...over };
    expect(decodeState(raw, reads)).toEqual({ kind: "unsupported", format });
  });

  it.each([
    ["an array", [], "(root)"],
    [
      "a version that is a string",
      { ...formatOne("state-after-failover"), version: "2" },
      "version",
    ],
    ["version 0", { ...formatOne("state-after-failover"), version: 0 }, "version"],
    [
      "a format-1 state without samples",
      { ...formatOne("state-after-failover"), samples: 1 },
      "samples",
    ],
  ])("says what is wrong with %s", (_what, raw, path) => {
    const d = decodeState(raw);
    expect(d.kind).toBe("invalid");
    if (d.kind === "invalid") expect(d.error.startsWith(`${path}:`)).toBe(true);
  });

  it.each([
    [{}, 1],
    [{ version: 2 }, 2],
    [{ version: 1.5 }, undefined],
    [null, undefined],
  ])("the format of %j is %s", (raw, format) => {
    expect(stateFormatOf(raw)).toBe(format);
  });
});
