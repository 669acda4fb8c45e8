// The command line of every service main: `--flag value` or `--flag=value`, declared flags
// only, values checked by kind. Pure, so the rules are unit-tested; errors are
// VALIDATION_FAILED MarinaErrors naming the flag (a bad config: exit code 2).
import { MarinaError } from "@marina/contracts";

export type FlagKind = "text" | "id" | "port" | "positive-int";

export interface FlagSpec {
  readonly kind: FlagKind;
  readonly required?: boolean;
  /** May be given several times: the values in order ([] when absent). */
  readonly repeatable?: boolean;
  /** The value's placeholder in the usage line, e.g. `marina.yaml`. */
  readonly example: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

export interface ArgsSpec<F extends FlagSpecs> {
  /** The program name in the usage line, e.g. `marina-executor`. */
  readonly program: string;
  readonly flags: F;
}

type ValueOf<K extends FlagKind> = K extends "port" | "positive-int" ? number : string;

/** Parsed values keyed by flag name; optional flags may be undefined, repeatable ones are lists. */
export type ParsedArgs<F extends FlagSpecs> = {
  readonly [N in keyof F]: F[N] extends { readonly repeatable: true }
    ? readonly ValueOf<F[N]["kind"]>[]
    : F[N] extends { readonly required: true }
      ? ValueOf<F[N]["kind"]>
      : ValueOf<F[N]["kind"]> | undefined;
};

/** The flags every service main takes. */
export const SERVICE_FLAGS = {
  config: { kind: "text", required: true, example: "marina.yaml" },
  id: { kind: "id", example: "name" },
  /** One URL or a comma-separated list (every server of a NATS cluster). */
  nats: { kind: "text", example: "nats://host:4222[,nats://host2:4222]" },
} as const satisfies FlagSpecs;

/** Ids end up in envelope sources and client names: 1-128 of a safe alphabet. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;
const FLAG = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s;

export function usage<F extends FlagSpecs>(spec: ArgsSpec<F>): string {
  const parts = Object.entries(spec.flags).map(([name, f]) => {
    const one = f.required ? `--${name} ${f.example}` : `[--${name} ${f.example}]`;
    return f.repeatable ? `${one}...` : one;
  });
  return `usage: ${spec.program} ${parts.join(" ")}`;
}

function invalid(flag: string, message: string): MarinaError {
  return new MarinaError("VALIDATION_FAILED", message, { path: `--${flag}` });
}

function parseValue(flag: string, kind: FlagKind, text: string): string | number {
  switch (kind) {
    case "text":
      return text;
    case "id":
      if (!ID.test(text)) {
        throw invalid(flag, `--${flag} must be 1-128 letters, digits, '.', '@', '-' or '_'`);
      }
      return text;
    case "port": {
      const n = Number(text);
      if (!/^[0-9]+$/.test(text) || n > 65535) {
        throw invalid(flag, `--${flag} must be an integer 0-65535`);
      }
      return n;
    }
    case "positive-int": {
      const n = Number(text);
      if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
        throw invalid(flag, `--${flag} must be a positive integer`);
      }
      return n;
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown flag kind ${String(never)}`);
    }
  }
}

/** Parses argv (without node and the script). */
export function parseArgs<const F extends FlagSpecs>(
  spec: ArgsSpec<F>,
  argv: readonly string[],
): ParsedArgs<F> {
  const help = usage(spec);
  const out: Record<string, string | number | Array<string | number> | undefined> = {};
  for (const [name, f] of Object.entries(spec.flags)) if (f.repeatable) out[name] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = FLAG.exec(arg);
    const name = m?.[1];
    const flag =
      name !== undefined && Object.hasOwn(spec.flags, name) ? spec.flags[name] : undefined;
    if (!m || name === undefined || !flag) {
      throw new MarinaError("VALIDATION_FAILED", `unknown argument "${arg}"; ${help}`, {
        path: arg.split("=")[0] ?? arg,
      });
    }
    const text = m[2] ?? argv[++i];
    if (text === undefined || text === "") throw invalid(name, `--${name} needs a value; ${help}`);
    const value = parseValue(name, flag.kind, text);
    const list = out[name];
    if (Array.isArray(list)) list.push(value);
    else out[name] = value;
  }
  for (const [name, f] of Object.entries(spec.flags)) {
    const v = out[name];
    if (f.required && (v === undefined || (Array.isArray(v) && v.length === 0))) {
      throw invalid(name, `--${name} is required; ${help}`);
    }
  }
  return out as ParsedArgs<F>;
}

/** A default id from the host name (and more, e.g. the pid), cut to the id alphabet. */
export function defaultId(text: string, fallback: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9_.@-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return (cleaned || fallback).slice(0, 128);
}
