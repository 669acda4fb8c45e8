import { describe, expect, it } from "vitest";
import { resolveClusters } from "../src/targets.js";
import { CONFIG, ENV } from "./fixtures.js";

describe("resolveClusters", () => {
  it("resolves servers and both accounts' secrets", () => {
    const main = resolveClusters(CONFIG, ENV).get("main")!;
    expect([...main.servers.keys()]).toEqual(["db1", "db2"]);
    expect(main.admin).toEqual({ user: "marina", password: "admin-secret" });
    expect(main.replication).toEqual({ user: "repl", password: "repl-secret" });
    expect(resolveClusters(CONFIG, ENV).get("other")!.servers.get("x1")!.port).toBe(3306);
  });

  it("fails at start, naming the variable, when a secret's variable is missing", () => {
    expect(() => resolveClusters(CONFIG, {})).toThrow(
      expect.objectContaining({
        code: "VALIDATION_FAILED",
        message: expect.stringContaining("REPL_PW"),
      }),
    );
  });
});
