// How a trial-based benchmark runs its trials: each one labelled, a failed trial recorded
// and the run carried on, and a stray rejection from a client library recorded with the
// trial it happened in instead of ending a long benchmark (the report lists both).

export interface TrialLog {
  /** Runs one trial; its line is printed; a failure is recorded and gives undefined. */
  run<T>(label: string, trial: () => Promise<T>, line: (r: T) => string): Promise<T | undefined>;
  readonly failures: string[];
  readonly stray: string[];
  /** The report's notes: the wall time since trialLog(), `extra`, failed trials, strays. */
  notes(extra?: readonly string[]): string[];
  /** Ends the run: exit code 1 when a trial failed. */
  finish(): void;
}

export function trialLog(): TrialLog {
  const started = performance.now();
  let current = "setup";
  const failures: string[] = [];
  const stray: string[] = [];
  process.on("unhandledRejection", (reason) => {
    const e = reason as { message?: string; code?: string; sql?: string; stack?: string };
    const text = `${current}: unhandled rejection ${e.code ?? ""} ${e.message ?? String(reason)}${e.sql ? ` (sql: ${e.sql})` : ""}`;
    stray.push(text);
    console.log(text);
    if (process.env.MARINA_BENCH_STACKS) console.log(e.stack);
  });
  return {
    failures,
    stray,
    async run(label, trial, line) {
      current = label;
      try {
        const r = await trial();
        console.log(`${label}: ${line(r)}`);
        return r;
      } catch (err) {
        const first = (err as Error).message.split("\n")[0];
        failures.push(`${label}: ${first}`);
        console.log(`${label}: FAILED ${first}`);
        return undefined;
      }
    },
    notes: (extra = []) => [
      `wall time ${((performance.now() - started) / 1000).toFixed(0)} s`,
      ...extra,
      ...failures.map((f) => `failed trial ${f}`),
      ...stray,
    ],
    finish() {
      if (failures.length) process.exitCode = 1;
    },
  };
}
