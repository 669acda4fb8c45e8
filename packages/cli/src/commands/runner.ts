// How a subcommand's action becomes an exit code: commander calls the action with the
// command's arguments, its options and the command itself; the runner makes the Context
// from the command's (global) flags and keeps the body's exit code.
import type { Command } from "commander";
import type { Context } from "../context.js";
import type { ExitCode } from "../exit-codes.js";

export type Runner = <A extends unknown[]>(
  body: (ctx: Context, ...args: A) => Promise<ExitCode>,
) => (...args: A) => Promise<void>;

export function makeRunner(
  contextOf: (cmd: Command) => Context,
  keep: (code: ExitCode) => void,
): Runner {
  return (body) =>
    async (...args) => {
      // commander passes (…arguments, options, command): the command is last.
      const cmd = args.at(-1) as Command;
      keep(await body(contextOf(cmd), ...args));
    };
}

/** `now - duration` for the `--since` flags. */
export function sinceOf(ctx: Context, ms: number): Date {
  return new Date(ctx.now().getTime() - ms);
}
