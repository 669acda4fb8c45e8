import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isNatsSafeSecret, natsSecret } from "../src/index.js";

describe("natsSecret", () => {
  it("is letters and digits, a letter first, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        let i = 0;
        // cycles through the given bytes (at least one is below every limit: 0 is never skipped)
        const source = (n: number) =>
          Uint8Array.from({ length: n }, () => bytes[i++ % bytes.length]! % 208);
        const s = natsSecret(source, 20);
        expect(s).toHaveLength(20);
        expect(isNatsSafeSecret(s)).toBe(true);
      }),
    );
  });

  it("skips bytes that would bias the alphabet", () => {
    // 255 is past the last whole multiple of both alphabets (208 and 248): never used
    const bytes = [255, 0, 255, 61, 255, 52];
    let i = 0;
    const source = (n: number) => Uint8Array.from({ length: n }, () => bytes[i++ % bytes.length]!);
    expect(natsSecret(source, 3)).toBe("A90");
  });

  it("differs between calls from real randomness", () => {
    const all = new Set(Array.from({ length: 100 }, () => natsSecret(randomBytes)));
    expect(all.size).toBe(100);
    for (const s of all) expect(s).toMatch(/^[A-Za-z][A-Za-z0-9]{31}$/);
  });

  it.each([
    ["0abc", false],
    ["true1", true],
    ["true", false],
    ["No", false],
    ["a-b", false],
    ["", false],
  ])("isNatsSafeSecret(%j) is %s", (s, ok) => {
    expect(isNatsSafeSecret(s)).toBe(ok);
  });
});
