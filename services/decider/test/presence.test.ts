// Who is alive: judged on this decider's clock by whether a peer's record keeps moving,
// whatever the KV TTL does (NATS 2.9 tells nobody when a key expires).
import { describe, expect, it } from "vitest";
import { Presence, PresenceRecord, presenceKey } from "../src/presence.js";
import { FakeTtlKv } from "./fake-ttl-kv.js";

const TTL = 1000;

function world() {
  let t = 0;
  const now = () => t;
  const kv = new FakeTtlKv(TTL, now);
  const make = (id: string, clusters: string[], incarnation = `${id}-1`, leads: string[] = []) =>
    new Presence(kv, { id, incarnation, clusters, ttlMs: TTL, now, leads: () => leads });
  return { kv, make, advance: (ms: number) => (t += ms) };
}

const ids = (p: Presence) => p.alive().map((d) => d.id);

describe("presenceKey", () => {
  it.each([
    ["decider-a", "decider-a"],
    ["d_1", "d_1"],
    ["ops@host.example", "ops=40host=2eexample"],
    ["a.", "a=2e"],
  ])("%s → %s", (id, key) => {
    expect(presenceKey(id)).toBe(key);
    expect(key).toMatch(/^[-/_=.A-Za-z0-9]+$/);
    expect(key.endsWith(".") || key.startsWith(".")).toBe(false);
  });
});

describe("Presence", () => {
  it("is not ready before its first read; then sees itself and the others with their clusters", async () => {
    const w = world();
    const a = w.make("a", ["c1", "c2"], "a-1", ["c1"]);
    const b = w.make("b", ["c2"]);
    expect(a.ready).toBe(false);
    expect(ids(a)).toEqual(["a"]);
    await a.round();
    await b.round();
    await a.round();
    expect(a.ready).toBe(true);
    expect(a.alive()).toEqual([
      { id: "a", clusters: ["c1", "c2"] },
      { id: "b", clusters: ["c2"] },
    ]);
    expect(b.peerRecords()).toMatchObject([{ id: "a", leads: ["c1"], clusters: ["c1", "c2"] }]);
    const stored = await w.kv.get("a");
    expect(PresenceRecord.parse(JSON.parse(new TextDecoder().decode(stored!.value)))).toMatchObject(
      {
        id: "a",
        incarnation: "a-1",
      },
    );
  });

  it("a peer that stops renewing is gone after the TTL, even while its key lingers", async () => {
    const w = world();
    const a = w.make("a", ["c1"]);
    const b = w.make("b", ["c1"]);
    await b.round();
    await a.round();
    expect(ids(a)).toEqual(["a", "b"]);
    // b stops; its key is still readable (a KV that expires late), a sees no movement
    w.advance(TTL - 1);
    await a.round();
    expect(ids(a)).toEqual(["a", "b"]);
    w.advance(1);
    expect(ids(a)).toEqual(["a"]);
    expect(a.aliveForMs("b")).toBe(0);
  });

  it("counts how long a peer has been alive without a break; a pause or restart starts over", async () => {
    const w = world();
    const a = w.make("a", ["c1"]);
    let b = w.make("b", ["c1"], "b-1");
    await b.round();
    await a.round();
    for (let i = 0; i < 5; i++) {
      w.advance(400);
      await b.round();
      await a.round();
    }
    expect(a.aliveForMs("b")).toBe(2000);
    // paused (SIGSTOP) past the TTL, same incarnation: alive again from when it moves again
    w.advance(1500);
    await a.round();
    expect(a.aliveForMs("b")).toBe(0);
    await b.round();
    await a.round();
    expect(a.aliveForMs("b")).toBe(0);
    w.advance(300);
    await b.round();
    await a.round();
    expect(a.aliveForMs("b")).toBe(300);
    // restarted (new incarnation) within the TTL: a new alive period
    b = w.make("b", ["c1"], "b-2");
    w.advance(100);
    await b.round();
    await a.round();
    expect(a.aliveForMs("b")).toBe(0);
    expect(a.aliveForMs("a")).toBe(w.advance(0));
  });

  it("a withdrawn peer is gone at the next read; an invalid record is ignored", async () => {
    const w = world();
    const invalid: string[] = [];
    const a = new Presence(w.kv, {
      id: "a",
      incarnation: "a-1",
      clusters: ["c1"],
      ttlMs: TTL,
      now: () => 0,
      leads: () => [],
      onInvalid: (k) => invalid.push(k),
    });
    const b = w.make("b", ["c1"]);
    await b.round();
    await w.kv.put("junk", new TextEncoder().encode("{"));
    await w.kv.put("c", new TextEncoder().encode(JSON.stringify({ id: "someone-else" })));
    await a.round();
    expect(ids(a)).toEqual(["a", "b"]);
    expect(invalid.sort()).toEqual(["c", "junk"]);
    await b.withdraw();
    await a.round();
    expect(ids(a)).toEqual(["a"]);
  });
});
