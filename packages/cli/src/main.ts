#!/usr/bin/env node
// marina — Marina's command line (program.ts); `marina --help`, docs/cli.md.
import { runCli } from "./program.js";
import { readSandboxEnv } from "./sandbox-env.js";

const stop = new AbortController();
let signals = 0;
const onSignal = () => {
  signals += 1;
  // A second Ctrl-C leaves at once, whatever is still closing.
  if (signals > 1) process.exit(130);
  stop.abort();
};
process.on("SIGINT", onSignal);
// A reader that went away (`marina events | head`) is not a failure.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
process.on("SIGTERM", onSignal);

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: stop.signal,
  sandboxEnv: () => readSandboxEnv(),
});
process.exitCode = code;
// Let stdout drain (a pipe), then leave even if a NATS timer is still pending.
process.stdout.write("", () => process.exit(code));
