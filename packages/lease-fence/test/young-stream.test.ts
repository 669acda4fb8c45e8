import { describe, expect, it } from "vitest";
import { settledForReads } from "../src/young-stream.js";

describe("settledForReads", () => {
  it("reads a stream that has stored a message at once", async () => {
    const t = performance.now();
    await settledForReads(1, 300);
    expect(performance.now() - t).toBeLessThan(100);
  });

  it("waits before reading one that never has (it may still be being created)", async () => {
    const t = performance.now();
    await settledForReads(0, 300);
    expect(performance.now() - t).toBeGreaterThanOrEqual(290);
  });
});
