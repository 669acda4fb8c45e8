import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfigFile } from "../src/config-file.js";

describe("deploy/marina.example.yaml", () => {
  it("is a valid config", () => {
    const cfg = loadConfigFile(join(import.meta.dirname, "../../../deploy/marina.example.yaml"));
    expect(cfg.clusters[0]!.servers.map((s) => s.name)).toEqual(["db1", "db2", "db3"]);
  });
});
