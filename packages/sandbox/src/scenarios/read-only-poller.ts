// Watches a server's read_only the way an outside checker would: a fresh root connection
// every `intervalMs` (Marina's fences kill sessions, so a held connection would not last).
import type { MariaNode } from "@marina/lab";
import { sleep, waitFor } from "@marina/lab";

export interface ReadOnlySample {
  readonly at: number;
  readonly readOnly: boolean;
}

export interface ReadOnlyPoller {
  readonly samples: readonly ReadOnlySample[];
  /** performance.now() of the first answer read_only=1 (waits for it). */
  firstReadOnly(timeoutMs: number): Promise<number>;
  /** From the first answer read_only=0 to the first read_only=1 after it; 0 if never writable. */
  writableMs(): number | null;
  stop(): void;
}

export function pollReadOnly(node: MariaNode, intervalMs = 50): ReadOnlyPoller {
  const samples: ReadOnlySample[] = [];
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const started = performance.now();
      try {
        const rows = await node.query<Array<{ ro: unknown }>>(
          "SELECT @@global.read_only AS ro",
          [],
          { timeoutMs: 1_000 },
        );
        samples.push({ at: performance.now(), readOnly: Number(rows[0]?.ro) === 1 });
      } catch {
        // down, frozen or starting: no answer is not an answer
      }
      await sleep(Math.max(0, intervalMs - (performance.now() - started)));
    }
  };
  void loop();
  const firstRo = () => samples.find((s) => s.readOnly);
  return {
    samples,
    async firstReadOnly(timeoutMs) {
      await waitFor(() => firstRo() !== undefined, {
        timeoutMs,
        intervalMs: 10,
        message: `${node.name} read_only=1`,
      });
      return firstRo()!.at;
    },
    writableMs() {
      const w = samples.findIndex((s) => !s.readOnly);
      if (w < 0) return samples.length > 0 ? 0 : null;
      const ro = samples.slice(w).find((s) => s.readOnly);
      return ro ? ro.at - samples[w]!.at : null;
    },
    stop() {
      stopped = true;
    },
  };
}
