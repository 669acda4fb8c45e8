// API tokens: resolved once, short or missing ones stop the start naming the setting,
// each known by its name, compared whole.
import { ApiSettings } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { resolveTokens } from "../src/http/auth.js";

const settings = (tokens: unknown[]) => ApiSettings.parse({ tokens });

describe("resolveTokens", () => {
  it("names the token a request carries, and no one for anything else", () => {
    const t = resolveTokens(
      settings([
        { name: "ops", token: { value: "ops-token-0123456789" } },
        { name: "ci", token: { env: "CI_TOKEN" } },
      ]),
      { CI_TOKEN: "ci-token-0123456789ab" },
    );
    expect(t.nameOf("Bearer ops-token-0123456789")).toBe("ops");
    expect(t.nameOf("bearer ci-token-0123456789ab")).toBe("ci");
    for (const h of [
      undefined,
      "",
      "ops-token-0123456789",
      "Basic ops-token-0123456789",
      "Bearer ops-token-012345678",
      "Bearer ops-token-0123456789x",
      "Bearer ops-token-0123456789 extra",
    ]) {
      expect(t.nameOf(h), String(h)).toBeNull();
    }
  });

  it("stops on a missing variable or a short token, naming the setting and never the token", () => {
    expect(() => resolveTokens(settings([{ name: "a", token: { env: "NOPE" } }]), {})).toThrow(
      /api\.tokens\.0\.token: environment variable NOPE is not set/,
    );
    let message = "";
    try {
      resolveTokens(settings([{ name: "a", token: { value: "short-secret" } }]), {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/api\.tokens\.0\.token: a token needs at least 16 characters/);
    expect(message).not.toContain("short-secret");
  });

  it("refuses two tokens of one name in the config", () => {
    const r = ApiSettings.safeParse({
      tokens: [
        { name: "a", token: { value: "x".repeat(16) } },
        { name: "a", token: { value: "y".repeat(16) } },
      ],
    });
    expect(r.success).toBe(false);
  });
});
