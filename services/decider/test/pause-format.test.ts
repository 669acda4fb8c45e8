// The pause in the persisted state (format 3): read, migrated, and written in a format that
// keeps it even while a decider that reads only format 2 is alive — that decider would act
// against the pause, so it must not be able to read (and lead) a paused cluster.
import { type DeciderState, initialState } from "@marina/decider-core";
import { describe, expect, it } from "vitest";
import { stateWriteFormat } from "../src/formats.js";
import {
  convertState,
  decodeState,
  encodeState,
  STATE_DOWNGRADES,
  STATE_MIGRATIONS,
  stateFormatNeeded,
} from "../src/state-format.js";

const running: DeciderState = { ...initialState("main"), primary: "db1" };
const paused: DeciderState = {
  ...running,
  paused: { since: 1_700_000_000_000, reason: "network work", by: "ops@laptop" },
};
const writer = { decider: "d1", epoch: 4 };

describe("the pause in the state formats", () => {
  it("2 → 3 adds no pause; 3 → 2 drops it", () => {
    const two = encodeState(running, 2, writer);
    expect(two).not.toHaveProperty("paused");
    expect(STATE_MIGRATIONS[2]!(two)).toEqual({ ...two, version: 3, paused: null });
    const three = encodeState(paused, 3, writer);
    expect(three).toMatchObject({ version: 3, paused: paused.paused });
    expect(STATE_DOWNGRADES[3]!(three)).toEqual({ ...three, version: 2, paused: undefined });
    expect(convertState(three, 3, 2)).not.toHaveProperty("paused");
  });

  it("a paused state reads back paused; one of format 2 reads as running", () => {
    const d = decodeState(JSON.parse(JSON.stringify(encodeState(paused, 3, writer))));
    expect(d).toMatchObject({ kind: "ok", format: 3, state: { paused: paused.paused } });
    expect(decodeState(encodeState(running, 2, writer))).toMatchObject({
      kind: "ok",
      format: 2,
      state: { paused: null },
    });
  });

  it("a decider that reads only format 2 cannot read a paused state", () => {
    expect(decodeState(encodeState(paused, 3, writer), 2)).toEqual({
      kind: "unsupported",
      format: 3,
    });
  });

  it("a bad pause is refused with its path", () => {
    const raw = { ...encodeState(paused, 3, writer), paused: { since: "yesterday" } };
    expect(decodeState(raw)).toMatchObject({
      kind: "invalid",
      error: expect.stringMatching(/^paused/),
    });
  });

  it.each([
    ["running, older peers", running, { reads: 3, peers: [2] }, 2],
    ["paused, older peers: the pause wins", paused, { reads: 3, peers: [2, 3] }, 3],
    ["paused, peers not known yet", paused, { reads: 3, peers: undefined }, 3],
    [
      "paused, a peer of the release before formats (it would overwrite a newer state)",
      paused,
      { reads: 3, peers: [3, 1] },
      1,
    ],
    ["paused, alone", paused, { reads: 3, peers: [] }, 3],
    [
      "paused, but the operator caps at 2 (rollback): the cap wins",
      paused,
      { reads: 3, cap: 2, peers: [] },
      2,
    ],
    ["running, alone", running, { reads: 3, peers: [] }, 3],
  ])("writes %s in the right format", (_what, state, choice, format) => {
    expect(stateWriteFormat({ ...choice, needs: stateFormatNeeded(state) })).toBe(format);
  });
});
