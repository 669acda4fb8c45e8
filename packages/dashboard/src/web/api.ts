// The decider's HTTP API as the page uses it: reads and commands with the bearer token the
// user gave (kept in sessionStorage), and the Server-Sent Events stream read with fetch
// (EventSource cannot send an Authorization header), reconnecting when it drops.
import type { ApiCommand } from "./model/actions.js";
import type { CommandReply, Published } from "./model/api-types.js";
import { parseSse } from "./model/sse.js";

const TOKEN_KEY = "marina.dashboard.token";

export function loadToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function saveToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An error answer of the API: its HTTP status and Marina's code. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(
    readonly cluster: string,
    private readonly token: () => string,
    private readonly base = "",
  ) {}

  private headers(json = false): Record<string, string> {
    const t = this.token();
    return {
      ...(t ? { authorization: `Bearer ${t}` } : {}),
      ...(json ? { "content-type": "application/json" } : {}),
    };
  }

  private async answer<T>(r: Response): Promise<T> {
    const body = (await r.json().catch(() => null)) as {
      error?: { code?: string; message?: string };
    } | null;
    if (!r.ok) {
      const e = body?.error;
      throw new ApiError(r.status, e?.code ?? `HTTP_${r.status}`, e?.message ?? r.statusText);
    }
    return body as T;
  }

  async get<T>(path: string): Promise<T> {
    const r = await fetch(`${this.base}${path}`, { headers: this.headers(), cache: "no-store" });
    return this.answer<T>(r);
  }

  clusterPath(path: string): string {
    return `/clusters/${encodeURIComponent(this.cluster)}/${path}`;
  }

  read<T>(path: string): Promise<T> {
    return this.get<T>(this.clusterPath(path));
  }

  /** A command (its dry-run with `dryRun`): the decider's reply, or ApiError with its refusal. */
  async command(c: ApiCommand, dryRun: boolean): Promise<CommandReply> {
    const r = await fetch(
      `${this.base}${this.clusterPath(c.path)}${dryRun ? "?dryRun=true" : ""}`,
      {
        method: "POST",
        headers: this.headers(true),
        body: JSON.stringify(c.body),
      },
    );
    return this.answer<CommandReply>(r);
  }

  /**
   * Follows the cluster's event stream until `signal` aborts, reconnecting after a drop.
   * A 401 stops it (the token is wrong: the page asks for another).
   */
  async follow(
    deliver: (p: Published) => void,
    state: (s: "live" | "reconnecting" | "unauthorized") => void,
    signal: AbortSignal,
  ): Promise<void> {
    let wait = 500;
    while (!signal.aborted) {
      try {
        const r = await fetch(`${this.base}${this.clusterPath("events/stream")}`, {
          headers: this.headers(),
          signal,
          cache: "no-store",
        });
        if (r.status === 401) {
          state("unauthorized");
          return;
        }
        if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
        state("live");
        wait = 500;
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseSse(buffer + value);
          buffer = parsed.rest;
          for (const f of parsed.frames) {
            if (f.event === "topology" || f.event === "event" || f.event === "operation") {
              deliver(JSON.parse(f.data) as Published);
            }
          }
        }
      } catch {
        if (signal.aborted) return;
      }
      state("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 5000);
    }
  }
}
