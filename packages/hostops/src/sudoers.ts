// A reader for the small subset of sudoers syntax deploy/sudoers.marina uses
// (Cmnd_Alias lines with exact argument lists), so a test can prove that every privileged
// command the agent's SSH backend emits is allowed — and nothing looser is needed.

/** Splits on unescaped commas and removes sudoers backslash escapes. */
function splitCommands(body: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === "\\" && i + 1 < body.length) {
      cur += body[i + 1];
      i++;
    } else if (ch === ",") {
      out.push(cur.trim());
      cur = "";
    } else {
      cur += ch;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out.map((c) => c.replace(/\s+/g, " "));
}

/** The commands of every `Cmnd_Alias NAME = a, b, ...` (continuation lines joined). */
export function sudoersCommands(text: string): Map<string, string[]> {
  const joined = text.replace(/\\\n/g, " ");
  const out = new Map<string, string[]>();
  for (const raw of joined.split("\n")) {
    const line = raw.trim();
    const m = /^Cmnd_Alias\s+([A-Z][A-Z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m) out.set(m[1]!, splitCommands(m[2]!));
  }
  return out;
}

/** True when `path args...` equals one allowed command exactly (no wildcards are used). */
export function sudoersAllows(
  commands: Map<string, string[]>,
  file: string,
  args: readonly string[],
): boolean {
  const wanted = [file, ...args].join(" ");
  for (const list of commands.values()) if (list.includes(wanted)) return true;
  return false;
}
