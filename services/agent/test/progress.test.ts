import { describe, expect, it } from "vitest";
import { RateMeter } from "../src/ops/progress.js";

describe("rate meter", () => {
  it("reports bytes per second over its window and the ETA", () => {
    const m = new RateMeter(5_000);
    expect(m.rate()).toBe(0);
    m.add(0, 0);
    m.add(1_000, 100e6);
    m.add(2_000, 200e6);
    expect(m.rate()).toBe(100e6);
    expect(m.etaMs(200e6, 1_000e6)).toBe(8_000);
    expect(m.etaMs(200e6, null)).toBeNull();
  });

  it("forgets samples older than the window", () => {
    const m = new RateMeter(2_000);
    m.add(0, 0);
    m.add(1_000, 1_000);
    for (let t = 2_000; t <= 10_000; t += 1_000) m.add(t, 1_000 + (t - 1_000) * 10);
    expect(m.rate()).toBe(10_000);
  });
});
