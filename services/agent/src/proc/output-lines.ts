// A program's output as the agent watches it: a bounded tail (for error messages) and
// complete lines offered to whoever waits for one (socat's "listening"/"connected", a
// pid line), until the program ends. Used by local stages and by remote (SSH) pipelines.

export class OutputLines {
  #tail = "";
  #partial = "";
  #ended = false;
  readonly #watchers = new Set<(line: string | null) => void>();

  constructor(private readonly keepBytes: number) {}

  /** The last `keepBytes` of the output, as written. */
  get tail(): string {
    return this.#tail;
  }

  /** Adds a chunk; returns the lines it completed (carriage returns dropped). */
  append(chunk: string): string[] {
    this.#tail = (this.#tail + chunk).slice(-this.keepBytes);
    const lines = (this.#partial + chunk.replace(/\r/g, "")).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) for (const w of this.#watchers) w(line);
    return lines;
  }

  /** The program ended: waiters get their answer from the tail. */
  end(): void {
    this.#ended = true;
    for (const w of this.#watchers) w(null);
  }

  /** True when a line matches; false when the program ends first or time runs out. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<boolean> {
    if (pattern.test(this.#tail)) return Promise.resolve(true);
    if (this.#ended) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.#watchers.delete(watch);
        resolve(v);
      };
      const watch = (line: string | null) => {
        if (line === null) done(pattern.test(this.#tail));
        else if (pattern.test(line)) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#watchers.add(watch);
    });
  }
}
