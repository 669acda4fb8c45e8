// What `marina pause --all` reads (the clusters of the deciders' presence records) and how
// `marina status` shows a paused cluster.
import { describe, expect, it } from "vitest";
import { clustersOfPresence } from "../src/deciders-clusters.js";
import { formatStatus } from "../src/format/status.js";
import { PLAIN } from "../src/format/style.js";
import type { StatusData } from "../src/status-reply.js";
import { NOW, statusOf } from "./fixtures.js";

describe("marina pause --all: the configured clusters", () => {
  it.each([
    ["none", [], []],
    [
      "two deciders, overlapping, sorted once each",
      [
        JSON.stringify({ id: "d1", clusters: ["main", "billing"] }),
        JSON.stringify({ id: "d2", clusters: ["main"], version: 2 }),
      ],
      ["billing", "main"],
    ],
    [
      "unreadable records and names that are not cluster names are skipped",
      ["", "not json", JSON.stringify({ id: "d3" }), JSON.stringify({ clusters: ["a.b", "ok"] })],
      ["ok"],
    ],
  ])("%s", (_what, bodies, clusters) => {
    expect(clustersOfPresence(bodies)).toEqual(clusters);
  });
});

describe("marina status while paused", () => {
  const view = (paused: StatusData["paused"]) =>
    formatStatus({
      status: statusOf({ paused }),
      agentOf: {},
      now: NOW,
      style: PLAIN,
      boxed: false,
    });

  it("says PAUSED on the second line, who and why, and what is held back", () => {
    const lines = view({
      since: "2026-11-20T12:00:05.000Z",
      reason: "network work",
      by: "ops@laptop",
      held: ["failover of db1: dead", "fence db3: writable"],
    }).split("\n");
    expect(lines[1]).toMatch(
      /^PAUSED since .* by ops@laptop: network work — Marina starts nothing on its own \(marina resume\)$/,
    );
    expect(lines.slice(2, 4)).toEqual([
      "  held: failover of db1: dead",
      "  held: fence db3: writable",
    ]);
    expect(lines[4]).toBe("operation: none");
  });

  it("says nothing when not paused, or when the decider does not know pause", () => {
    expect(view(null)).not.toContain("PAUSED");
    expect(view(undefined)).not.toContain("PAUSED");
  });
});
