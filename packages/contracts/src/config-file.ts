import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { MarinaConfig, type Secret } from "./config.js";
import { MarinaError } from "./errors.js";
import { issuePath } from "./parse.js";

/**
 * Reads a YAML or JSON config file and validates it with `schema` (MarinaConfig by
 * default). Throws a MarinaError whose one-line message names the file and the field.
 */
export function loadConfigFile<S extends z.ZodType = typeof MarinaConfig>(
  path: string,
  schema?: S,
): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new MarinaError("VALIDATION_FAILED", `${path}: cannot read: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseConfigText(text, path, schema);
}

export function parseConfigText<S extends z.ZodType = typeof MarinaConfig>(
  text: string,
  origin: string,
  schema?: S,
): z.infer<S> {
  let raw: unknown;
  try {
    raw = parseYaml(text); // YAML is a superset of JSON
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0];
    throw new MarinaError("VALIDATION_FAILED", `${origin}: not YAML/JSON: ${msg}`, { cause: err });
  }
  const r = (schema ?? MarinaConfig).safeParse(raw ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issuePath(issue.path);
    throw new MarinaError("VALIDATION_FAILED", `${origin}: ${path || "(root)"}: ${issue.message}`, {
      path,
    });
  }
  return r.data as z.infer<S>;
}

/** Resolves a secret; a missing environment variable is an error naming it. */
export function resolveSecret(secret: Secret, env: NodeJS.ProcessEnv = process.env): string {
  if ("value" in secret) return secret.value;
  const v = env[secret.env];
  if (v === undefined) {
    throw new MarinaError("VALIDATION_FAILED", `environment variable ${secret.env} is not set`);
  }
  return v;
}
