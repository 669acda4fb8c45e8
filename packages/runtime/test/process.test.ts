import { EventEmitter } from "node:events";
import { MarinaError } from "@marina/contracts";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { EXIT_CODES, handleShutdown, type ProcessLike, runMain } from "../src/index.js";

class FakeProcess extends EventEmitter implements ProcessLike {
  exits: number[] = [];
  stderrText = "";
  readonly stderr = { write: (t: string) => (this.stderrText += t) };
  exit(code: number): void {
    this.exits.push(code);
  }
}

const log = pino({ level: "silent" });
const tick = () => new Promise((r) => setTimeout(r, 0));

describe("runMain", () => {
  it("a bad config: one line on stderr, exit code 2", async () => {
    const p = new FakeProcess();
    await runMain(
      "marina-x",
      async () => {
        throw new MarinaError("VALIDATION_FAILED", "m.yaml: clusters.0: bad\nmore detail");
      },
      p,
    );
    expect(p.stderrText).toBe("marina-x: m.yaml: clusters.0: bad\n");
    expect(p.exits).toEqual([EXIT_CODES.badConfig]);
  });

  it("any other failure to start: exit code 1; success: no exit", async () => {
    const p = new FakeProcess();
    await runMain("marina-x", async () => Promise.reject(new Error("boom")), p);
    expect(p.exits).toEqual([EXIT_CODES.failed]);
    const q = new FakeProcess();
    await runMain("marina-x", async () => {}, q);
    expect(q.exits).toEqual([]);
  });
});

describe("handleShutdown", () => {
  it("closes once at the first signal and exits 0; later signals change nothing", async () => {
    const p = new FakeProcess();
    const s = handleShutdown({ log, proc: p });
    let closes = 0;
    s.closeWith(async () => {
      closes++;
    });
    expect(s.stopping).toBe(false);
    p.emit("SIGTERM");
    p.emit("SIGINT");
    await tick();
    expect([closes, s.stopping, s.signal.aborted]).toEqual([1, true, true]);
    expect(p.exits).toEqual([EXIT_CODES.ok]);
  });

  it("exits 1 when closing fails", async () => {
    const p = new FakeProcess();
    handleShutdown({ log, proc: p }).closeWith(async () => {
      throw new Error("stuck");
    });
    p.emit("SIGINT");
    await tick();
    expect(p.exits).toEqual([EXIT_CODES.failed]);
  });

  it("exits 1 when closing outlasts the grace period", async () => {
    const p = new FakeProcess();
    handleShutdown({ log, proc: p, graceMs: 5 }).closeWith(() => new Promise(() => {}));
    p.emit("SIGTERM");
    await new Promise((r) => setTimeout(r, 30));
    expect(p.exits).toEqual([EXIT_CODES.failed]);
  });

  it("exits 0 at once when nothing runs yet, aborting what is starting", async () => {
    const p = new FakeProcess();
    const s = handleShutdown({ log, proc: p });
    p.emit("SIGTERM");
    expect(s.signal.aborted).toBe(true);
    expect(p.exits).toEqual([EXIT_CODES.ok]);
  });
});
