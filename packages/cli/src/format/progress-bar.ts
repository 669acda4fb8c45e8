// The progress bar of a transfer (a rebuild's stream): cli-progress on a terminal, the bar
// only when the size is known (the donor's estimate), bytes, rate and ETA always.
import cliProgress from "cli-progress";
import { formatProgress, type OperationProgress } from "./operation.js";

const BAR_SIZE = 30;

/** One frame: `  [=========-----]  412.00 MiB of ~1.10 GiB (37%) at …, ETA 1.4 s`. */
export function barFrame(p: OperationProgress, unicode: boolean): string {
  const total = p.totalBytes !== null && p.totalBytes > 0 ? p.totalBytes : null;
  if (total === null) return `  ${formatProgress(p)}`;
  const done = Math.max(0, Math.min(BAR_SIZE, Math.round((p.bytes / total) * BAR_SIZE)));
  const [full, empty] = unicode ? ["█", "░"] : ["=", "-"];
  return `  [${full.repeat(done)}${empty.repeat(BAR_SIZE - done)}]  ${formatProgress(p)}`;
}

export class TransferBar {
  private readonly bar: cliProgress.SingleBar;
  private started = false;

  constructor(stream: NodeJS.WritableStream) {
    this.bar = new cliProgress.SingleBar({
      stream,
      // The frame is ours (bytes, rate and ETA as the agent measured them).
      format: (_options, _params, payload: { frame?: string }) => payload.frame ?? "",
      hideCursor: true,
      clearOnComplete: false,
      linewrap: false,
      fps: 10,
    });
  }

  update(p: OperationProgress): void {
    const frame = barFrame(p, true);
    if (!this.started) {
      this.bar.start(1, 0, { frame });
      this.started = true;
    } else {
      this.bar.update(0, { frame });
    }
  }

  /** Leaves the last frame on its line; the next output starts below it. */
  stop(): void {
    if (!this.started) return;
    this.bar.stop();
    this.started = false;
  }
}
