import { MarinaError } from "@marina/contracts";
import type { RunningStream } from "../host/backend.js";
import { RateMeter } from "./progress.js";
import type { OpRecord } from "./registry.js";

export interface StreamWatch {
  /** Before this resolves (the peer connected), idleness is not judged. */
  readonly connected: Promise<boolean>;
  readonly connectMs: number;
  readonly idleMs: number;
  readonly streamMs: number;
  readonly progressMs: number;
  readonly totalBytes: number | null;
  readonly onProgress: (bytes: number, rate: number, etaMs: number | null) => void;
}

export interface StreamOutcome {
  readonly bytes: number;
  readonly ms: number;
}

/**
 * Follows a running transfer pipeline until it ends: publishes progress, and kills it on
 * cancel, on a missing peer (connectMs), when no byte moved for idleMs, or after streamMs.
 */
export async function watchStream(
  p: RunningStream,
  rec: OpRecord,
  w: StreamWatch,
): Promise<StreamOutcome> {
  const start = performance.now();
  const meter = new RateMeter();
  let bytes = 0;
  let base: number | undefined;
  let lastChange = performance.now();
  let connected = false;
  let failure: MarinaError | undefined;
  const stop = (err: MarinaError) => {
    failure ??= err;
    void p.kill();
  };
  void w.connected.then((ok) => {
    connected = ok;
    lastChange = performance.now();
  });
  const sample = () => {
    const raw = p.bytesMoved();
    if (raw !== undefined) {
      // rchar counts the program's own start-up reads (libraries); drop the first sample.
      base ??= raw;
      const b = Math.max(0, raw - base);
      if (b > bytes) {
        bytes = b;
        lastChange = performance.now();
      }
    }
    const now = performance.now();
    meter.add(now, bytes);
    if (!connected && now - start > w.connectMs) {
      stop(new MarinaError("TIMEOUT", `no peer connected within ${w.connectMs} ms`));
    } else if (connected && now - lastChange > w.idleMs) {
      stop(new MarinaError("TIMEOUT", `stream idle for ${w.idleMs} ms`));
    } else if (now - start > w.streamMs) {
      stop(new MarinaError("TIMEOUT", `stream not finished within ${w.streamMs} ms`));
    }
  };
  sample();
  const progressTimer = setInterval(() => {
    w.onProgress(bytes, meter.rate(), meter.etaMs(bytes, w.totalBytes));
  }, w.progressMs);
  const sampleTimer = setInterval(sample, Math.min(250, w.progressMs));
  const onAbort = () => {
    const reason = rec.controller.signal.reason;
    stop(new MarinaError("CANCELLED", typeof reason === "string" ? reason : "cancelled"));
  };
  rec.controller.signal.addEventListener("abort", onAbort, { once: true });
  if (rec.controller.signal.aborted) onAbort();
  try {
    const result = await p.done;
    sample();
    if (failure) throw failure;
    if (!result.ok) throw new MarinaError("TOOL_FAILED", result.failure ?? "transfer failed");
    return { bytes, ms: Math.round(performance.now() - start) };
  } finally {
    clearInterval(progressTimer);
    clearInterval(sampleTimer);
    rec.controller.signal.removeEventListener("abort", onAbort);
  }
}
