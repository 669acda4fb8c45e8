// Printing an operation while `marina` waits for it: a header, one line per phase, a
// progress bar for a transfer (a progress line every few seconds when not on a terminal),
// the outcome; with --json, nothing until the end (the phases go into the document).
import type { OperationEvent } from "@marina/contracts";
import type { FollowEnd } from "../follow-operation.js";
import {
  formatOperationStart,
  formatOutcome,
  formatPhaseLine,
  formatProgress,
  isNews,
} from "../format/operation.js";
import { TransferBar } from "../format/progress-bar.js";
import type { Output } from "../output.js";

/** Without a terminal, a transfer's progress is a line at most this often. */
export const PROGRESS_LINE_MS = 5000;

export interface PhaseRecord {
  readonly time: string;
  readonly phase: string;
  readonly state: OperationEvent["state"];
  readonly message: string;
}

export class OperationPrinter {
  private prev: OperationEvent | undefined;
  private bar: TransferBar | undefined;
  private lastProgressLine = 0;
  /** A progress line held back by the rate limit: printed before the next phase's line. */
  private heldProgress: { ev: OperationEvent; at: Date } | undefined;
  readonly phases: PhaseRecord[] = [];

  constructor(private readonly out: Output) {}

  onEvent(ev: OperationEvent, at: Date): void {
    const news = isNews(ev, this.prev);
    if (this.prev === undefined && !this.out.json)
      this.out.line(formatOperationStart(ev, this.out.style));
    this.prev = ev;
    if (news) {
      this.phases.push({
        time: at.toISOString(),
        phase: ev.phase,
        state: ev.state,
        message: ev.message,
      });
      if (this.out.json) return;
      this.flushProgress();
      if (ev.state !== "running") return;
      this.bar?.stop();
      this.bar = undefined;
      this.out.line(formatPhaseLine(ev, at, this.out.style));
    }
    if (ev.progress !== null && !this.out.json) this.progress(ev, at);
  }

  private progress(ev: OperationEvent, at: Date): void {
    const p = ev.progress!;
    if (this.out.isTTY) {
      this.bar ??= new TransferBar(this.out.stream);
      this.bar.update(p);
      return;
    }
    if (at.getTime() - this.lastProgressLine < PROGRESS_LINE_MS) {
      this.heldProgress = { ev, at };
      return;
    }
    this.heldProgress = { ev, at };
    this.flushProgress();
  }

  private flushProgress(): void {
    const held = this.heldProgress;
    if (!held || held.ev.progress === null) return;
    this.heldProgress = undefined;
    this.lastProgressLine = held.at.getTime();
    const line = { ...held.ev, message: formatProgress(held.ev.progress) };
    this.out.line(formatPhaseLine(line, held.at, this.out.style));
  }

  /** The outcome, or why we stopped waiting. */
  finish(end: FollowEnd, last: OperationEvent | null, opId: string): void {
    this.bar?.stop();
    this.bar = undefined;
    if (this.out.json) return;
    const s = this.out.style;
    if (end === "done" && last) {
      for (const l of formatOutcome(last, s)) this.out.line(l);
      return;
    }
    const what = last ? `${last.kind} ${opId} (phase ${last.phase})` : `operation ${opId}`;
    const why = end === "timeout" ? "stopped waiting (--timeout)" : "interrupted";
    this.out.warn(s.yellow(`${why}: ${what} goes on; follow it with: marina op ${opId}`));
  }
}
