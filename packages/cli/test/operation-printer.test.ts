// What `marina <verb>` prints while it waits, without a terminal and with --json.
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { OperationPrinter } from "../src/commands/operation-printer.js";
import { PLAIN } from "../src/format/style.js";
import type { Output } from "../src/output.js";
import { opEvent } from "./fixtures.js";

function memoryOutput(json: boolean): Output & { lines: string[]; warnings: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  return {
    lines,
    warnings,
    line: (t) => lines.push(t),
    warn: (t) => warnings.push(t),
    stream: new PassThrough(),
    isTTY: false,
    columns: 100,
    style: PLAIN,
    json,
  };
}

const at = (ms: number) => new Date(Date.parse("2026-11-20T12:00:00.000Z") + ms);
const progress = (bytes: number) => ({
  bytes,
  totalBytes: 4096,
  bytesPerSecond: 1024,
  etaMs: 1000,
});

/** A rebuild as the decider publishes it: phases, progress every 500 ms, the outcome. */
const REBUILD = [
  [0, opEvent({ kind: "rebuild", phase: "start", message: "started" })],
  [5, opEvent({ kind: "rebuild", phase: "stream", message: "streaming" })],
  ...[1, 2, 3, 4, 5, 6, 7, 8].map(
    (i) =>
      [
        500 * i,
        opEvent({ kind: "rebuild", phase: "stream", message: `${i}`, progress: progress(i * 512) }),
      ] as const,
  ),
  [4100, opEvent({ kind: "rebuild", phase: "attach", message: "attaching db3" })],
  [
    4200,
    opEvent({
      kind: "rebuild",
      phase: "attach",
      state: "succeeded",
      message: "db3 rebuilt",
      endedAt: "2026-11-20T12:00:04.200Z",
      timings: { stream: 4000, attach: 100, total: 4200 },
    }),
  ],
] as const;

/** Prints the whole rebuild; the printer, for its phases. */
function replay(out: Output): OperationPrinter {
  const p = new OperationPrinter(out);
  for (const [ms, ev] of REBUILD) p.onEvent(ev, at(ms));
  p.finish("done", REBUILD.at(-1)![1], "op-1");
  return p;
}

describe("the operation printer", () => {
  it("prints phases, a progress line at most every 5 s and the last one before the next phase", () => {
    const out = memoryOutput(false);
    replay(out);
    expect(out.lines).toEqual([
      "rebuild op-1  old=db1 target=db2",
      "  +   0.000 s  start        started",
      "  +   0.005 s  stream       streaming",
      "  +   0.500 s  stream       512 B of ~4.00 KiB (12%) at 1.00 KiB/s, ETA 1.0 s",
      "  +   4.000 s  stream       4.00 KiB of ~4.00 KiB (100%) at 1.00 KiB/s, ETA 1.0 s",
      "  +   4.100 s  attach       attaching db3",
      "rebuild op-1 succeeded in 4.2 s: db3 rebuilt",
      "  phases: stream 4.0 s · attach 100 ms · total 4.2 s",
    ]);
  });

  it("prints nothing with --json, and keeps every phase for the document", () => {
    const out = memoryOutput(true);
    const p = replay(out);
    expect(out.lines).toEqual([]);
    expect(p.phases.map((x) => `${x.phase}/${x.state}`)).toEqual([
      "start/running",
      "stream/running",
      "attach/running",
      "attach/succeeded",
    ]);
  });

  it("says how to follow an operation it stopped waiting for", () => {
    const out = memoryOutput(false);
    const p = new OperationPrinter(out);
    p.onEvent(opEvent({ phase: "promote" }), at(0));
    p.finish("timeout", opEvent({ phase: "promote" }), "op-1");
    expect(out.warnings).toEqual([
      "stopped waiting (--timeout): switchover op-1 (phase promote) goes on; follow it with: marina op op-1",
    ]);
  });
});
