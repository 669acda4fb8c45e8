import { Transform, type TransformCallback } from "node:stream";

// A pass-through that watches the short lines going by for one pattern and keeps the last
// match's first group. The one place where a transfer's bytes pass through the agent: a
// dump's position comment is only in the stream (MariaDB 10.11 writes it after the data).

/** Lines longer than this are never the one looked for (a dump's INSERT lines are long). */
const MAX_LINE = 1024;

export class LineScan extends Transform {
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #match: string | undefined;

  constructor(private readonly pattern: RegExp) {
    super();
  }

  /** The last matching line's first group (the whole line without one); undefined: none. */
  get match(): string | undefined {
    return this.#match;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.#line(chunk.subarray(start, nl));
      start = nl + 1;
    }
    this.#keep(chunk.subarray(start));
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.#line(Buffer.alloc(0));
    done();
  }

  #keep(piece: Buffer): void {
    if (this.#partialBytes > MAX_LINE) return;
    this.#partial.push(piece);
    this.#partialBytes += piece.length;
  }

  #line(end: Buffer): void {
    const bytes = this.#partialBytes + end.length;
    const parts = this.#partial;
    this.#partial = [];
    this.#partialBytes = 0;
    if (bytes > MAX_LINE) return;
    const m = this.pattern.exec(Buffer.concat([...parts, end]).toString("utf8"));
    if (m) this.#match = m[1] ?? m[0];
  }
}
