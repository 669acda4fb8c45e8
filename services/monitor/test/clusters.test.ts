// `--clusters a,b`: a monitor probes only the named clusters; an unknown name is a bad config.
import { MarinaConfig } from "@marina/contracts";
import { isBadConfig } from "@marina/runtime";
import { describe, expect, it } from "vitest";
import { parseClusterList, selectClusters } from "../src/clusters.js";

const cluster = (name: string) => ({
  name,
  servers: [{ name: "db1", host: "127.0.0.1" }],
  admin: { user: "marina", password: { value: "x" } },
  replication: { user: "repl", password: { value: "y" } },
});
const config = MarinaConfig.parse({ clusters: ["c1", "c2", "c3"].map(cluster) });
const names = (c: MarinaConfig) => c.clusters.map((x) => x.name);

describe("parseClusterList", () => {
  it.each([
    ["c1", ["c1"]],
    ["c1,c2", ["c1", "c2"]],
    [" c1 , c2 ,", ["c1", "c2"]],
    ["c2,c1,c2", ["c2", "c1"]],
    [",", []],
  ])("%j → %j", (text, list) => {
    expect(parseClusterList(text)).toEqual(list);
  });
});

describe("selectClusters", () => {
  it("keeps every cluster without a selection", () => {
    expect(selectClusters(config, undefined)).toBe(config);
  });

  it("keeps the named ones, in the config's order, and everything else of the config", () => {
    const picked = selectClusters(config, ["c3", "c1"]);
    expect(names(picked)).toEqual(["c1", "c3"]);
    expect(picked.nats).toEqual(config.nats);
    expect(names(config)).toEqual(["c1", "c2", "c3"]);
  });

  it.each([
    [["c4"], /--clusters: cluster "c4" not in the config \(configured: c1, c2, c3\)/],
    [["c1", "x", "y"], /clusters "x", "y" not in the config/],
    [[], /names no cluster/],
  ])("%j is a bad config naming the flag", (list, message) => {
    let err: unknown;
    try {
      selectClusters(config, list);
    } catch (e) {
      err = e;
    }
    expect(isBadConfig(err)).toBe(true);
    expect(err).toMatchObject({ path: "--clusters", message: expect.stringMatching(message) });
  });
});
