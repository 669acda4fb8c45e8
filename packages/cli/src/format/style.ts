// Colour only for people: a terminal, no NO_COLOR, not --json, not TERM=dumb.
import pc from "picocolors";

export interface Style {
  readonly enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

export interface ColorContext {
  readonly isTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `--no-color` or `--json`. */
  readonly disabled: boolean;
}

/** https://no-color.org: NO_COLOR set to anything but the empty string turns colour off. */
export function colorWanted(c: ColorContext): boolean {
  if (c.disabled || !c.isTTY) return false;
  if ((c.env.NO_COLOR ?? "") !== "") return false;
  return c.env.TERM !== "dumb";
}

export function makeStyle(enabled: boolean): Style {
  const c = pc.createColors(enabled);
  return {
    enabled,
    bold: c.bold,
    dim: c.dim,
    red: c.red,
    green: c.green,
    yellow: c.yellow,
    cyan: c.cyan,
  };
}

export const PLAIN: Style = makeStyle(false);
