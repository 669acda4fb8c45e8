import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emptyQuiet, updateQuiet } from "../src/quiet.js";

const c = (connection: string, gtidIoPos: string, receivedHeartbeats: number) => ({
  connection,
  gtidIoPos,
  receivedHeartbeats,
});

describe("updateQuiet", () => {
  it("is null for a connection seen the first time", () => {
    const r = updateQuiet(emptyQuiet, [c("", "0-1-5", 3)], 1000);
    expect(r.quietMs.get("")).toBeNull();
  });

  it("grows while neither the IO position nor the heartbeat counter moves", () => {
    let r = updateQuiet(emptyQuiet, [c("", "0-1-5", 3)], 1000);
    r = updateQuiet(r.state, [c("", "0-1-5", 3)], 1500);
    expect(r.quietMs.get("")).toBe(500);
    r = updateQuiet(r.state, [c("", "0-1-5", 3)], 2200);
    expect(r.quietMs.get("")).toBe(1200);
  });

  it("resets when the heartbeat counter moves", () => {
    let r = updateQuiet(emptyQuiet, [c("", "0-1-5", 3)], 1000);
    r = updateQuiet(r.state, [c("", "0-1-5", 4)], 1500);
    expect(r.quietMs.get("")).toBe(0);
  });

  it("resets when only the IO position moves (heartbeats stop under write load)", () => {
    let r = updateQuiet(emptyQuiet, [c("", "0-1-5", 3)], 1000);
    r = updateQuiet(r.state, [c("", "0-1-9", 3)], 1500);
    expect(r.quietMs.get("")).toBe(0);
    r = updateQuiet(r.state, [c("", "0-1-9", 3)], 1800);
    expect(r.quietMs.get("")).toBe(300);
  });

  it("tracks named connections independently and forgets removed ones", () => {
    let r = updateQuiet(emptyQuiet, [c("p1", "1-1-1", 0), c("p2", "2-2-1", 0)], 0);
    r = updateQuiet(r.state, [c("p1", "1-1-2", 0), c("p2", "2-2-1", 0)], 400);
    expect(r.quietMs.get("p1")).toBe(0);
    expect(r.quietMs.get("p2")).toBe(400);
    r = updateQuiet(r.state, [c("p1", "1-1-2", 0)], 800);
    expect(r.state.has("p2")).toBe(false);
    r = updateQuiet(r.state, [c("p1", "1-1-2", 0), c("p2", "2-2-1", 0)], 900);
    expect(r.quietMs.get("p2")).toBeNull();
  });

  it("never goes negative and never exceeds the time since first sighting", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.nat(5000), pos: fc.nat(3), hb: fc.nat(3) }), {
          minLength: 1,
          maxLength: 30,
        }),
        (steps) => {
          let now = 0;
          let state = emptyQuiet;
          for (const s of steps) {
            now += s.dt;
            const r = updateQuiet(state, [c("", `0-1-${s.pos}`, s.hb)], now);
            const q = r.quietMs.get("");
            if (q !== null && q !== undefined) {
              expect(q).toBeGreaterThanOrEqual(0);
              expect(q).toBeLessThanOrEqual(now - steps[0]!.dt);
            }
            state = r.state;
          }
        },
      ),
    );
  });
});
