// Where the CLI writes: stdout for answers, stderr for diagnostics. Injected, so the
// commands run in tests against memory buffers, and main.ts gives them the process's.
import { colorWanted, makeStyle, type Style } from "./format/style.js";

export interface Output {
  /** A line (or block) of the answer, on stdout. */
  line(text: string): void;
  /** A diagnostic line on stderr. */
  warn(text: string): void;
  /** Raw writes to stdout: the in-place redraw of `watch` and the progress bar. */
  readonly stream: NodeJS.WritableStream;
  /** stdout is a terminal: redraw in place, draw bars, box tables. */
  readonly isTTY: boolean;
  readonly columns: number;
  readonly style: Style;
  readonly json: boolean;
}

export interface ProcessOutputOptions {
  readonly json: boolean;
  readonly noColor: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout?: NodeJS.WriteStream;
  readonly stderr?: NodeJS.WriteStream;
}

export function processOutput(o: ProcessOutputOptions): Output {
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const isTTY = stdout.isTTY === true && !o.json;
  const color = colorWanted({ isTTY, env: o.env, disabled: o.noColor || o.json });
  return {
    line: (text) => stdout.write(`${text}\n`),
    warn: (text) => stderr.write(`${text}\n`),
    stream: stdout,
    isTTY,
    columns: stdout.columns ?? 100,
    style: makeStyle(color),
    json: o.json,
  };
}
