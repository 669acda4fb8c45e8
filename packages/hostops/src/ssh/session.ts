import { createHash, timingSafeEqual } from "node:crypto";
import type { Duplex } from "node:stream";
import { MarinaError } from "@marina/contracts";
import { Client, type ClientChannel, type ExecOptions as Ssh2ExecOptions } from "ssh2";

export interface SshEndpoint {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** OpenSSH private key (PEM/OpenSSH format). */
  readonly privateKey: string | Buffer;
  /**
   * The host key's fingerprint exactly as `ssh-keygen -lf <host key>.pub` prints it
   * ("SHA256:…"). The connection is refused on any other key: no trust on first use.
   */
  readonly hostKeyFingerprint: string;
  readonly readyTimeoutMs?: number;
}

/** OpenSSH's SHA256 fingerprint of a raw host key blob. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface ExecOptions {
  /** Written to the command's stdin, then stdin is left open (EOF would not hang it up). */
  readonly stdin?: string;
  /** End stdin after `stdin` was written (a command that reads to EOF, like `tee`). */
  readonly closeStdin?: boolean;
  /**
   * Allocate a pseudo-terminal: closing the channel then hangs up (SIGHUP) the whole
   * remote pipeline, which is how a cancel reaches processes run under sudo. Echo is off.
   */
  readonly pty?: boolean;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Every chunk of output (stdout and stderr), as it arrives. */
  readonly onOutput?: (text: string) => void;
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly aborted: boolean;
}

const KEEP = 64 * 1024;
const keepTail = (s: string) => (s.length > KEEP ? s.slice(-KEEP) : s);

/** One authenticated SSH connection to a database host. */
export class SshSession {
  readonly #client: Client;
  readonly endpoint: SshEndpoint;
  #closed = false;

  private constructor(client: Client, endpoint: SshEndpoint) {
    this.#client = client;
    this.endpoint = endpoint;
    client.on("close", () => {
      this.#closed = true;
    });
    // After "ready", a dropped connection emits error then close: never unhandled.
    client.on("error", () => {
      this.#closed = true;
    });
  }

  /** False once the connection dropped or was closed (open a new session then). */
  get alive(): boolean {
    return !this.#closed;
  }

  /**
   * A byte stream to a unix socket on the remote host (OpenSSH stream-local forwarding,
   * `direct-streamlocal@openssh.com`): how the agent speaks SQL to a remote server over its
   * socket, authenticated as `@localhost`, without a command line.
   */
  openUnixSocket(path: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      this.#client.openssh_forwardOutStreamLocal(path, (err, channel) => {
        if (err) {
          reject(
            new MarinaError("SERVER_UNREACHABLE", `ssh stream to ${path}: ${err.message}`, {
              cause: err,
            }),
          );
          return;
        }
        resolve(channel);
      });
    });
  }

  static connect(endpoint: SshEndpoint): Promise<SshSession> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      let seen: string | undefined;
      client.once("ready", () => resolve(new SshSession(client, endpoint)));
      client.once("error", (err) => {
        client.end();
        if (seen !== undefined && !sameText(seen, endpoint.hostKeyFingerprint)) {
          reject(
            new MarinaError(
              "REFUSED",
              `ssh ${endpoint.host}:${endpoint.port}: host key ${seen} does not match the configured fingerprint`,
              { cause: err },
            ),
          );
          return;
        }
        reject(
          new MarinaError(
            "SERVER_UNREACHABLE",
            `ssh ${endpoint.host}:${endpoint.port}: ${err.message}`,
            {
              cause: err,
            },
          ),
        );
      });
      client.connect({
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.username,
        privateKey: endpoint.privateKey,
        readyTimeout: endpoint.readyTimeoutMs ?? 10_000,
        keepaliveInterval: 5_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          seen = fingerprintOf(key);
          return sameText(seen, endpoint.hostKeyFingerprint);
        },
      });
    });
  }

  /** Runs one command line; resolves with its exit status (never rejects on non-zero). */
  exec(command: string, o: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted) {
        resolve({
          code: null,
          signal: null,
          stdout: "",
          stderr: "",
          timedOut: false,
          aborted: true,
        });
        return;
      }
      const opts: Ssh2ExecOptions = o.pty
        ? { pty: { term: "dumb", cols: 200, rows: 24, modes: { ECHO: 0 } } }
        : {};
      this.#client.exec(command, opts, (err, channel: ClientChannel) => {
        if (err) {
          reject(
            new MarinaError("SERVER_UNREACHABLE", `ssh exec failed: ${err.message}`, {
              cause: err,
            }),
          );
          return;
        }
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        let aborted = false;
        let code: number | null = null;
        let sig: string | null = null;
        const hangUp = () => {
          // A signal request first (honoured by recent sshd), then closing the channel,
          // which hangs up the pty and with it the remote process group.
          try {
            channel.signal("TERM");
          } catch {
            // not supported: closing is enough
          }
          channel.close();
        };
        const timer =
          o.timeoutMs !== undefined
            ? setTimeout(() => {
                timedOut = true;
                hangUp();
              }, o.timeoutMs)
            : undefined;
        const onAbort = () => {
          aborted = true;
          hangUp();
        };
        o.signal?.addEventListener("abort", onAbort, { once: true });
        channel.on("data", (d: Buffer) => {
          const t = d.toString("utf8");
          stdout = keepTail(stdout + t);
          o.onOutput?.(t);
        });
        channel.stderr.on("data", (d: Buffer) => {
          const t = d.toString("utf8");
          stderr = keepTail(stderr + t);
          o.onOutput?.(t);
        });
        channel.on("exit", (c: number | null, s?: string) => {
          code = c;
          sig = s ?? null;
        });
        channel.on("close", () => {
          if (timer) clearTimeout(timer);
          o.signal?.removeEventListener("abort", onAbort);
          resolve({ code, signal: sig, stdout, stderr, timedOut, aborted });
        });
        if (o.stdin !== undefined) channel.write(o.stdin);
        if (o.closeStdin) channel.end();
      });
    });
  }

  close(): void {
    this.#closed = true;
    this.#client.end();
  }
}
