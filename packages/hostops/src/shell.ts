import { type Invocation, resolveInvocation, type ToolPaths } from "./programs.js";

// Only the agent's SSH backend needs a command LINE: the remote sshd hands it to a shell.
// Every word is single-quoted, so no character in it is special to the shell; the values
// were validated by the argv builders before they got here.

/** POSIX single-quoting: 'it'\''s' — safe for any byte string without NUL. */
export function shQuote(word: string): string {
  if (word.includes("\0")) throw new Error("a shell word cannot contain NUL");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface RenderOptions {
  readonly paths: ToolPaths;
  /** Prefix privileged programs with `sudo -n` (non-interactive: fail rather than prompt). */
  readonly sudo: boolean;
}

/** One invocation as a quoted command line. */
export function renderInvocation(inv: Invocation, o: RenderOptions): string {
  const [file, args] = resolveInvocation(inv, o.paths);
  const words = inv.privileged && o.sudo ? [o.paths.sudo, "-n", file, ...args] : [file, ...args];
  return words.map(shQuote).join(" ");
}

/** A pipeline `a | b | c` of quoted invocations. */
export function renderPipeline(stages: readonly Invocation[], o: RenderOptions): string {
  if (stages.length === 0) throw new Error("empty pipeline");
  return stages.map((s) => renderInvocation(s, o)).join(" | ");
}

/**
 * Wraps a script for `bash -c` so pipefail holds whatever the login shell is: the script
 * is itself quoted as one word.
 */
export function bashScript(script: string, paths: ToolPaths): string {
  return `${shQuote(paths.bash)} -c ${shQuote(script)}`;
}
