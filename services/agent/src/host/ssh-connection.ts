import type { Duplex } from "node:stream";
import { MarinaError } from "@marina/contracts";
import {
  type ExecOptions,
  type ExecResult,
  type Invocation,
  type RenderOptions,
  renderInvocation,
  type SshEndpoint,
  SshSession,
} from "@marina/hostops";

// One SSH connection per remote server, opened on first use and again after it dropped.
// Every command line is rendered from an Invocation (a fixed template, each word quoted,
// privileged programs under `sudo -n`): nothing here accepts a free command line.

export function execFailure(what: string, r: ExecResult): MarinaError {
  if (r.aborted) return new MarinaError("CANCELLED", `${what}: cancelled`);
  if (r.timedOut) return new MarinaError("TIMEOUT", `${what}: did not finish in time`);
  return new MarinaError(
    "TOOL_FAILED",
    `${what} failed (exit ${r.code ?? r.signal}): ${outputTail(r)}`,
  );
}

export function outputTail(r: ExecResult, lines = 5): string {
  return `${r.stderr}\n${r.stdout}`.replace(/\r/g, "").trim().split("\n").slice(-lines).join(" | ");
}

export class SshConnection {
  readonly endpoint: SshEndpoint;
  readonly render: RenderOptions;
  #session: Promise<SshSession> | undefined;
  #closed = false;

  constructor(endpoint: SshEndpoint, render: RenderOptions) {
    this.endpoint = endpoint;
    this.render = render;
  }

  session(): Promise<SshSession> {
    if (this.#closed) return Promise.reject(new MarinaError("CANCELLED", "ssh connection closed"));
    const current = this.#session;
    if (current) {
      return current.then((s) => (s.alive ? s : this.#open(current)));
    }
    return this.#open(undefined);
  }

  #open(stale: Promise<SshSession> | undefined): Promise<SshSession> {
    if (this.#session !== stale && this.#session) return this.#session;
    const pending = SshSession.connect(this.endpoint);
    this.#session = pending;
    pending.catch(() => {
      if (this.#session === pending) this.#session = undefined;
    });
    return pending;
  }

  /** The quoted command line of an invocation (what sudoers must allow). */
  commandLine(inv: Invocation): string {
    return renderInvocation(inv, this.render);
  }

  /** Runs a command line built by this module; resolves with its status (never on non-zero). */
  async exec(command: string, o: ExecOptions = {}): Promise<ExecResult> {
    return (await this.session()).exec(command, o);
  }

  /** Runs one invocation; stdout on exit 0, TOOL_FAILED/TIMEOUT/CANCELLED otherwise. */
  async run(inv: Invocation, o: ExecOptions & { timeoutMs: number }): Promise<string> {
    const r = await this.exec(this.commandLine(inv), o);
    if (r.code !== 0) throw execFailure(inv.program, r);
    return r.stdout;
  }

  async openUnixSocket(path: string): Promise<Duplex> {
    return (await this.session()).openUnixSocket(path);
  }

  close(): void {
    this.#closed = true;
    const s = this.#session;
    this.#session = undefined;
    s?.then((x) => x.close()).catch(() => {});
  }
}
