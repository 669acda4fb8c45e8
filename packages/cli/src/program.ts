// The command line of `marina` (commander): the global flags, the subcommands (views in
// commands/view-commands.ts, command verbs in commands/verb-commands.ts), each run with a
// Context; every outcome is an exit code (exit-codes.ts).
import { createRequire } from "node:module";
import { ClusterName } from "@marina/contracts";
import type { NatsConnection } from "@nats-io/transport-node";
import { Command, CommanderError } from "commander";
import { addPauseCommands } from "./commands/pause.js";
import { makeRunner } from "./commands/runner.js";
import { addVerbCommands } from "./commands/verb-commands.js";
import { addViewCommands } from "./commands/view-commands.js";
import { connectionSettings, connectNats } from "./connection.js";
import type { Context } from "./context.js";
import { parseDuration } from "./durations.js";
import { CliError, EXIT, type ExitCode } from "./exit-codes.js";
import { processOutput } from "./output.js";

export const DEFAULT_TIMEOUT = "30m";

export interface CliDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** A running sandbox's connection settings (sandbox-env.ts), read only when needed. */
  readonly sandboxEnv: () => Readonly<Record<string, string>> | undefined;
  readonly now?: () => Date;
}

interface GlobalFlags {
  nats?: string;
  natsCa?: string;
  cluster: string;
  json?: boolean;
  color: boolean;
  timeout: string;
}

const VERSION = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

const HELP_AFTER = `
Connection: --nats or MARINA_NATS (comma-separated URLs), MARINA_NATS_USER and
MARINA_NATS_PASSWORD (no password flag), --nats-ca or MARINA_NATS_CA. With none of them
set, a running sandbox's settings are used, else nats://127.0.0.1:4222.

Exit codes: 0 ok; 1 the operation failed or was cancelled; 2 usage error; 3 refused by
Marina (its error code is printed); 4 cannot reach NATS or the deciders; 5 --timeout
passed (the operation goes on); 130 interrupted. See docs/cli.md.`;

export async function runCli(argv: readonly string[], deps: CliDeps): Promise<ExitCode> {
  let exit: ExitCode = EXIT.ok;
  let nc: NatsConnection | undefined;
  const contextOf = (cmd: Command): Context => {
    const g = cmd.optsWithGlobals<GlobalFlags>();
    const ctx = baseContext(g, deps);
    return {
      ...ctx,
      async connect() {
        nc ??= await connectNats(ctx.settings);
        return nc;
      },
    };
  };
  const program = rootCommand(deps);
  const run = makeRunner(contextOf, (code) => {
    exit = code;
  });
  addViewCommands(program, run);
  addVerbCommands(program, run);
  addPauseCommands(program, run);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exit;
  } catch (err) {
    return failure(err, deps, argv.includes("--json"));
  } finally {
    await nc?.close().catch(() => {});
  }
}

function rootCommand(deps: CliDeps): Command {
  return new Command("marina")
    .description("Marina's command line: status, topology, live view, events, and every command")
    .version(VERSION, "-V, --version")
    .option("--nats <urls>", "NATS server URL(s), comma-separated (env MARINA_NATS)")
    .option("--nats-ca <file>", "CA of the NATS servers' certificates (env MARINA_NATS_CA)")
    .option(
      "-c, --cluster <name>",
      "the cluster (env MARINA_CLUSTER)",
      deps.env.MARINA_CLUSTER || "main",
    )
    .option("--json", "JSON for scripts instead of text for people")
    .option("--no-color", "no colour (also: NO_COLOR, or output that is not a terminal)")
    .option(
      "--timeout <duration>",
      "how long a command waits for its operation (0: no limit)",
      DEFAULT_TIMEOUT,
    )
    .addHelpText("after", HELP_AFTER)
    .showHelpAfterError("(marina --help for usage)")
    .configureOutput({
      writeOut: (s: string) => void deps.stdout.write(s),
      writeErr: (s: string) => void deps.stderr.write(s),
    })
    .exitOverride();
}

/** Everything of a Context but the connection, from the global flags. */
function baseContext(g: GlobalFlags, deps: CliDeps) {
  const cluster = ClusterName.safeParse(g.cluster);
  if (!cluster.success) {
    throw new CliError("USAGE", `--cluster: "${g.cluster}" is not a cluster name`, {
      path: "--cluster",
    });
  }
  const timeoutMs = parseDuration(g.timeout, "--timeout");
  const named =
    g.nats !== undefined ||
    ["MARINA_NATS", "MARINA_NATS_USER", "MARINA_NATS_PASSWORD"].some((k) => deps.env[k]);
  const settings = connectionSettings(
    { nats: g.nats, natsCa: g.natsCa },
    deps.env,
    named ? undefined : deps.sandboxEnv(),
  );
  const out = processOutput({
    json: g.json === true,
    noColor: !g.color,
    env: deps.env,
    stdout: deps.stdout,
    stderr: deps.stderr,
  });
  return {
    out,
    cluster: cluster.data,
    timeoutMs,
    signal: deps.signal,
    settings,
    now: deps.now ?? (() => new Date()),
  };
}

function failure(err: unknown, deps: CliDeps, json: boolean): ExitCode {
  if (err instanceof CommanderError) {
    // commander printed the message (or the help) already.
    const done = ["commander.helpDisplayed", "commander.version", "commander.help"];
    return done.includes(err.code) || err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof CliError) {
    if (json) {
      const error = {
        code: err.code,
        message: err.message,
        ...(err.path ? { path: err.path } : {}),
      };
      deps.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
    }
    deps.stderr.write(`marina: ${err.message}\n`);
    if (err.code === "USAGE") deps.stderr.write("(marina --help for usage)\n");
    return err.exit;
  }
  deps.stderr.write(`marina: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.failed;
}
