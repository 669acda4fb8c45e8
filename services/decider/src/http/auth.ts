// Bearer tokens of the HTTP API: several, each known by a name that is recorded as the
// requester (`http:<name>` in the command's envelope source, so `marina history` shows it).
// Tokens are resolved once at start (a missing variable or a short token stops the start,
// naming the setting) and compared in constant time; they are never logged.
import { createHash, timingSafeEqual } from "node:crypto";
import {
  API_TOKEN_MIN_LENGTH,
  type ApiSettings,
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
