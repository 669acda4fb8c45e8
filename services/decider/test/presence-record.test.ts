// Presence records across formats: a recorded format-1 record (the release before formats)
// reads as a decider that reads format 1 of everything; newer ones are read for what is known.
import { describe, expect, it } from "vitest";
import { FORMATS, OLDEST_FORMATS } from "../src/formats.js";
import { Presence } from "../src/presence.js";
import {
  type DeciderPresence,
  encodePresence,
  migratePresence,
  PresenceRecord,
  parsePresence,
} from "../src/presence-record.js";
import { FakeTtlKv } from "./fake-ttl-kv.js";
import { bytes, formatOne } from "./format-fixtures.js";

const v1 = formatOne("presence");
const fields = {
  id: "decider-1",
  incarnation: v1.incarnation as string,
  clusters: ["main"],
  leads: ["main"],
  renewedAt: v1.renewedAt as string,
};

describe("presence formats", () => {
  it.each([
    ["the recorded format 1", v1, { version: 2, ...fields, formats: OLDEST_FORMATS }],
    [
      "format 2",
      { version: 2, ...fields, formats: { state: 2, lease: 2, presence: 2 } },
      { version: 2, ...fields, formats: { state: 2, lease: 2, presence: 2 } },
    ],
    [
      "a newer format, with fields this one does not know",
      { version: 3, ...fields, formats: { state: 3, lease: 2, presence: 3, x: 1 }, more: [] },
      { version: 3, ...fields, formats: { state: 3, lease: 2, presence: 3 } },
    ],
  ])("reads %s", (_what, raw, current) => {
    expect(migratePresence(PresenceRecord.parse(raw))).toEqual(current);
    expect(parsePresence(bytes(raw))).toEqual(current);
  });

  it.each([
    ["formats without the state's", { version: 2, ...fields, formats: { lease: 2 } }],
    ["a version that is not an integer", { version: "2", ...fields }],
    ["not JSON", "{"],
  ])("ignores %s", (_what, raw) => {
    const value = typeof raw === "string" ? new TextEncoder().encode(raw) : bytes(raw);
    expect(parsePresence(value)).toBeUndefined();
  });

  it("writes format 1 as the release before formats did, format 2 with its formats", () => {
    const r: DeciderPresence = { version: 2, ...fields, formats: FORMATS };
    expect(JSON.parse(new TextDecoder().decode(encodePresence(r, 1)))).toEqual(v1);
    expect(parsePresence(encodePresence(r))).toEqual(r);
  });
});

describe("Presence announces its formats and what it offers", () => {
  it("a peer sees the formats and the clusters offered, not the declined ones", async () => {
    let t = 0;
    const now = () => t;
    const kv = new FakeTtlKv(1000, now);
    let declined: string[] = [];
    const old = { state: 1, lease: 1, presence: 1 };
    const a = new Presence(kv, {
      id: "a",
      incarnation: "a-1",
      clusters: ["c1", "c2"],
      ttlMs: 1000,
      now,
      leads: () => [],
      declined: () => declined,
      formats: old,
    });
    const b = new Presence(kv, {
      id: "b",
      incarnation: "b-1",
      clusters: ["c1"],
      ttlMs: 1000,
      now,
      leads: () => [],
    });
    await a.round();
    await b.round();
    expect(b.peerFormats()).toEqual([old]);
    expect(b.alive()).toEqual([
      { id: "b", clusters: ["c1"] },
      { id: "a", clusters: ["c1", "c2"] },
    ]);
    // format 1 as written before formats: no version, no formats
    expect(JSON.parse(new TextDecoder().decode((await kv.get("a"))!.value))).not.toHaveProperty(
      "formats",
    );
    declined = ["c2"];
    t += 10;
    await a.round();
    await b.round();
    expect(a.alive()[0]).toEqual({ id: "a", clusters: ["c1"] });
    expect(b.alive()).toContainEqual({ id: "a", clusters: ["c1"] });
    await a.round();
    expect(a.peerFormats()).toEqual([FORMATS]);
  });
});
