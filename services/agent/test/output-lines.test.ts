import { describe, expect, it } from "vitest";
import { OutputLines } from "../src/proc/output-lines.js";

describe("a program's output lines", () => {
  it("keeps a bounded tail and hands complete lines, without carriage returns", () => {
    const out = new OutputLines(8);
    expect(out.append("lis")).toEqual([]);
    expect(out.append("tening\r\nnext\n")).toEqual(["listening", "next"]);
    expect(out.tail).toBe("g\r\nnext\n");
  });

  it("answers a waiter on a matching line, at the end from the tail, or false on time", async () => {
    const out = new OutputLines(1024);
    const seen = out.waitForLine(/connected/, 5_000);
    out.append("socat: connected to 10.0.0.1\n");
    await expect(seen).resolves.toBe(true);
    await expect(out.waitForLine(/connected/, 10)).resolves.toBe(true); // already in the tail
    const never = out.waitForLine(/listening/, 5_000);
    out.end();
    await expect(never).resolves.toBe(false);
    await expect(out.waitForLine(/listening/, 5_000)).resolves.toBe(false); // ended before
    const late = new OutputLines(1024).waitForLine(/x/, 20);
    await expect(late).resolves.toBe(false);
  });
});
