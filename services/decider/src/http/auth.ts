// Bearer tokens of the HTTP API: several, each known by a name that is recorded as the
// requester (`http:<name>` in the command's envelope source, so `marina history` shows it).
// Tokens are resolved once at start (a missing variable or a short token stops the start,
// naming the setting) and compared in constant time; they are never logged.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { TLSSocket } from "node:tls";
import {
  API_TOKEN_MIN_LENGTH,
  type ApiSettings,
  type ApiTls,
  MarinaError,
  resolveSecret,
} from "@marina/contracts";

export interface ApiTokens {
  /** The name of the token in an `Authorization: Bearer …` header, or null. */
  nameOf(authorization: string | undefined): string | null;
  readonly count: number;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

export function resolveTokens(settings: ApiSettings, env: NodeJS.ProcessEnv): ApiTokens {
  const known = settings.tokens.map((t, i) => {
    const at = `api.tokens.${i}.token`;
    let value: string;
    try {
      value = resolveSecret(t.token, env);
    } catch (err) {
      throw new MarinaError("VALIDATION_FAILED", `${at}: ${(err as Error).message}`, { path: at });
    }
    if (value.length < API_TOKEN_MIN_LENGTH) {
      throw new MarinaError(
        "VALIDATION_FAILED",
        `${at}: a token needs at least ${API_TOKEN_MIN_LENGTH} characters`,
        { path: at },
      );
    }
    return { name: t.name, digest: digest(value) };
  });
  return {
    count: known.length,
    nameOf(authorization) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
      if (!m) return null;
      // Equal-length digests, every token compared: no timing tells which part matched.
      const given = digest(m[1]!);
      let name: string | null = null;
      for (const k of known) if (timingSafeEqual(k.digest, given)) name = k.name;
      return name;
    },
  };
}

/** The envelope source of a command sent with the token `name`. */
export function requesterSource(name: string): string {
  return `http:${name}`;
}

export interface ClientCertificates {
  /**
   * The name of the client certificate a request's connection presented: one the TLS
   * handshake verified against `clientCa` whose subject CN is listed; null otherwise.
   */
  nameOf(socket: unknown): string | null;
}

export function clientCertificates(tls: ApiTls | undefined): ClientCertificates {
  const byCommonName = new Map((tls?.clients ?? []).map((c) => [c.commonName, c.name]));
  return {
    nameOf(socket) {
      if (byCommonName.size === 0) return null;
      const s = socket as Partial<TLSSocket>;
      // `authorized`: the chain was verified against the CA (the server lets unverified
      // certificates connect when requireClientCertificate is off; they count for nothing).
      if (s.encrypted !== true || s.authorized !== true) return null;
      const cn = s.getPeerCertificate?.().subject?.CN;
      // Several CN fields come as an array: not a name this accepts.
      return typeof cn === "string" ? (byCommonName.get(cn) ?? null) : null;
    },
  };
}

/** The TLS material of `api.tls`, read once at start; an unreadable file names its setting. */
export interface ApiTlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa?: Buffer;
}

export function readApiTls(tls: ApiTls): ApiTlsMaterial {
  const read = (setting: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new MarinaError(
        "VALIDATION_FAILED",
        `api.tls.${setting}: cannot read ${path}: ${why}`,
        {
          path: `api.tls.${setting}`,
        },
      );
    }
  };
  return {
    cert: read("cert", tls.cert),
    key: read("key", tls.key),
    ...(tls.clientCa ? { clientCa: read("clientCa", tls.clientCa) } : {}),
  };
}
