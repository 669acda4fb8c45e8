import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../src/errors.js";
import { Situations } from "../src/events.js";
import { CommandVerbs } from "../src/subjects.js";

const docs = join(import.meta.dirname, "../../../docs");
const read = (f: string) => readFileSync(join(docs, f), "utf8");

describe("docs stay true", () => {
  it("errors.md lists every error code with its retryable flag", () => {
    const text = read("errors.md");
    for (const [code, { retryable }] of Object.entries(ErrorCodes)) {
      expect(text).toContain(`| \`${code}\` | ${retryable ? "yes" : "no"} |`);
    }
  });

  it("subjects.md names every command verb and situation", () => {
    const text = read("subjects.md");
    for (const verb of CommandVerbs) expect(text, verb).toContain(`cmd.${verb}`);
    for (const s of Object.keys(Situations)) expect(text, s).toContain(s);
  });
});
