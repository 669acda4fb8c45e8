import { describe, expect, it } from "vitest";
import { natsClusterSize, natsReplicas, replicasChange } from "../src/index.js";

// What nats-server 2.9.10 sends: no `cluster` when standalone; in a cluster, every routed
// server's client address, its own included.
const standalone = { cluster: undefined, connect_urls: ["127.0.0.1:4222"] };
const three = {
  cluster: "c",
  connect_urls: ["127.0.0.1:4222", "127.0.0.1:4223", "127.0.0.1:4224"],
};
const twoOfThree = { cluster: "c", connect_urls: ["127.0.0.1:4222", "127.0.0.1:4223"] };

describe("natsReplicas", () => {
  it.each([
    ["standalone", standalone, 1, 1],
    ["no INFO yet", undefined, 1, 1],
    ["3 servers", three, 3, 3],
    ["5 servers", { cluster: "c", connect_urls: ["a:1", "b:1", "c:1", "d:1", "e:1"] }, 5, 3],
    ["2 servers", twoOfThree, 2, 1],
    ["duplicates", { cluster: "c", connect_urls: ["a:1", "a:1", "b:1"] }, 2, 1],
    ["no_advertise", { cluster: "c", connect_urls: [] }, 1, 1],
  ])("auto: %s", (_, info, size, replicas) => {
    expect(natsClusterSize(info)).toBe(size);
    expect(natsReplicas("auto", info)).toBe(replicas);
  });

  it("a configured count wins over the cluster's size", () => {
    expect(natsReplicas(1, three)).toBe(1);
    expect(natsReplicas(3, standalone)).toBe(3);
  });
});

describe("replicasChange", () => {
  it.each([
    ["auto", 3, 3, undefined],
    ["auto", 3, 1, 3],
    // a server down while the service starts: auto never shrinks
    ["auto", 1, 3, undefined],
    [1, 1, 3, 1],
    [3, 3, 1, 3],
    [5, 5, 5, undefined],
  ] as const)("setting %s, want %i, have %i -> %s", (setting, want, have, change) => {
    expect(replicasChange(setting, want, have)).toBe(change);
  });
});
