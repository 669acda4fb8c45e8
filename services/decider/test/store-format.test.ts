// The state store across formats, over an in-memory KV: a recorded format-1 state is read and
// rewritten in the format it is told to write; a format it cannot read is never written over.
import { STATE_FORMAT } from "@marina/decider-core";
import { describe, expect, it } from "vitest";
import { UnsupportedFormatError } from "../src/formats.js";
import { StateStore } from "../src/store.js";
import { FakeKv } from "./fake-kv.js";
import { bytes, formatOne } from "./format-fixtures.js";

const KEY = "main.decider";
const writer = { decider: "decider-new", epoch: 2 };

async function stored(kv: FakeKv) {
  const e = await kv.get(KEY);
  return { revision: e?.revision, value: JSON.parse(new TextDecoder().decode(e!.value)) };
}

async function withState(value: unknown) {
  const kv = new FakeKv();
  await kv.create(KEY, bytes(value));
  return kv;
}

describe("StateStore formats", () => {
  it("reads a recorded format-1 state and rewrites it in the current format, by its writer", async () => {
    const kv = await withState(formatOne("state-after-failover"));
    const store = new StateStore(kv, "main", { writer: () => writer });
    const state = await store.load();
    expect(state?.primary).toBe("db2");
    expect(await store.save(state!)).toBe(true);
    const { value } = await stored(kv);
    expect(value).toMatchObject({ version: STATE_FORMAT, writtenBy: writer, primary: "db2" });
    expect(value.failovers).toEqual(formatOne("state-after-failover").failovers);
  });

  it("writes the format it is told to, and again when that changes with the same decisions", async () => {
    const kv = await withState(formatOne("state-after-failover"));
    let format = 1;
    const store = new StateStore(kv, "main", { writer: () => writer, writeFormat: () => format });
    const state = (await store.load())!;
    expect(await store.save(state)).toBe(true);
    expect((await stored(kv)).value).toEqual(formatOne("state-after-failover"));
    expect(await store.save(state)).toBe(false);
    format = 2;
    expect(await store.save(state)).toBe(true);
    expect((await stored(kv)).value).toMatchObject({ version: 2, writtenBy: writer });
  });

  it("never writes above what it reads", async () => {
    const kv = new FakeKv();
    const store = new StateStore(kv, "main", { reads: 1, writeFormat: () => STATE_FORMAT });
    await store.load();
    const state = (await new StateStore(
      await withState(formatOne("state-after-failover")),
      "main",
    ).load())!;
    expect(await store.save(state)).toBe(true);
    expect((await stored(kv)).value.version).toBe(1);
  });

  it.each([
    [
      "a newer format",
      { ...formatOne("state-after-failover"), version: STATE_FORMAT + 1 },
      undefined,
    ],
    [
      "the current format, by a store that reads format 1 only",
      { ...formatOne("state-after-failover"), version: 2, writtenBy: null },
      1,
    ],
  ])("refuses %s and never writes over it", async (_what, value, reads) => {
    const kv = await withState(value);
    const before = await stored(kv);
    const store = new StateStore(kv, "main", reads ? { reads } : {});
    const err = await store.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedFormatError);
    expect(err).toMatchObject({
      code: "UNSUPPORTED_FORMAT",
      format: value.version,
      retryable: false,
    });
    const anything = (await new StateStore(
      await withState(formatOne("state-after-failover")),
      "main",
    ).load())!;
    await expect(store.save(anything)).rejects.toBeInstanceOf(UnsupportedFormatError);
    expect(await stored(kv)).toEqual(before);
  });
});
