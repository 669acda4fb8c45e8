import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bashScript, DEFAULT_TOOL_PATHS, renderPipeline, shQuote } from "../src/index.js";

// What a remote shell makes of a quoted word: run it through a real bash.
function echoThroughShell(line: string): string {
  const r = spawnSync("/bin/bash", ["-c", `printf '%s\\0' ${line}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe("shell quoting", () => {
  it("gives back every word unchanged, whatever its bytes (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc
            .string({ unit: "binary", minLength: 0, maxLength: 20 })
            .filter((s) => !s.includes("\0")),
          { minLength: 1, maxLength: 4 },
        ),
        (words) => {
          const out = echoThroughShell(words.map(shQuote).join(" "));
          expect(out).toBe(words.map((w) => `${w}\0`).join(""));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("neutralises metacharacters", () => {
    for (const w of [
      "a;b",
      "$(id)",
      "`id`",
      "a|b",
      "a'b",
      "*",
      "~",
      "a b",
      "'",
      "\n",
      "!x",
      "&&",
    ]) {
      expect(echoThroughShell(shQuote(w))).toBe(`${w}\0`);
    }
  });

  it("renders a pipeline and a bash -c wrapper that survive a second shell level", () => {
    const line = renderPipeline(
      [
        { program: "socat", args: ["-u", "TCP-LISTEN:4444,reuseaddr", "-"], privileged: false },
        { program: "mbstream", args: ["-x", "-C", "/var/lib/mysql"], privileged: true },
      ],
      { paths: DEFAULT_TOOL_PATHS, sudo: true },
    );
    expect(line).toBe(
      "/usr/bin/socat -u TCP-LISTEN:4444,reuseaddr - | /usr/bin/sudo -n /usr/bin/mbstream -x -C /var/lib/mysql",
    );
    const wrapped = bashScript(`set -o pipefail; ${line}`, DEFAULT_TOOL_PATHS);
    expect(wrapped).toBe(`/bin/bash -c 'set -o pipefail; ${line}'`);
  });
});
