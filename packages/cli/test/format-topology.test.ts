import { describe, expect, it } from "vitest";
import { PLAIN } from "../src/format/style.js";
import { formatTopologyTree } from "../src/format/topology.js";
import { topologyOf } from "./fixtures.js";

const from = (source: string, connection = "") => ({ source, connection });
/** The tree without each server's details: name and branch only. */
const shape = (text: string) =>
  text
    .split("\n")
    .slice(1)
    .map((l) =>
      l.replace(
        /(\S+) {2}(primary|replica|relay|fenced|down|diverged|maintenance|unknown)\b.*?((via|multi|\(shown)\S*.*)?$/,
        (_m, n, _r, tail) => `${n}${tail ? ` ${tail.replace(/ {2}/g, " ")}` : ""}`,
      ),
    );

describe("marina topology", () => {
  it("hangs replicas under the primary and relays' replicas under the relay", () => {
    const t = topologyOf([
      { name: "db1", role: "primary", readOnly: false },
      { name: "db2", role: "relay", sources: [from("db1")] },
      { name: "db3", role: "replica", sources: [from("db1")] },
      { name: "db4", role: "replica", sources: [from("db2")] },
    ]);
    const text = formatTopologyTree(t, { style: PLAIN, unicode: true });
    expect(text.split("\n")[0]).toBe(
      "cluster main  writer db1 10.0.0.1:3306  generation 7  epoch 3",
    );
    expect(text.split("\n")[1]).toBe("db1  primary  10.0.0.1:3306  read_only OFF  0-1-100");
    expect(shape(text)).toEqual(["db1", "├── db2", "│   └── db4", "└── db3"]);
    expect(shape(formatTopologyTree(t, { style: PLAIN, unicode: false }))).toEqual([
      "db1",
      "|-- db2",
      "|   `-- db4",
      "`-- db3",
    ]);
  });

  it("shows a multi-source replica under each source, its own replicas once", () => {
    const t = topologyOf([
      { name: "db1", role: "primary", readOnly: false },
      { name: "db2", role: "relay", sources: [from("db1", "a"), from("db3", "b")] },
      { name: "db3", role: "replica", sources: [] },
      { name: "db4", role: "replica", sources: [from("db2")] },
    ]);
    expect(shape(formatTopologyTree(t, { style: PLAIN, unicode: false }))).toEqual([
      "db1",
      "`-- db2 via 'a' multi-source (2)",
      "    `-- db4",
      "not attached:",
      "    db3",
      "    `-- db2 via 'b' multi-source (2) (shown above)",
    ]);
  });

  it("lists servers attached to nothing, with their reason, and replication loops", () => {
    const t = topologyOf([
      { name: "db1", role: "primary", readOnly: false },
      { name: "db2", role: "fenced", sources: [], reason: "former primary" },
      { name: "db3", role: "unknown", sources: [from("db4")] },
      { name: "db4", role: "unknown", sources: [from("db3")] },
    ]);
    const text = formatTopologyTree(t, { style: PLAIN, unicode: false });
    expect(text).toContain(
      "not attached:\n    db2  fenced  10.0.0.2:3306  read_only ON  0-1-100  — former primary",
    );
    expect(text).toContain("in a replication loop:\n    db3");
    expect(text).toContain("from db4");
  });

  it("says when there is no primary and when a server has no GTID yet", () => {
    const t = topologyOf(
      [{ name: "db1", role: "down", readOnly: null, gtidCurrentPos: null }],
      null,
    );
    const text = formatTopologyTree(t, { style: PLAIN, unicode: true });
    expect(text).toContain("writer none");
    expect(text).toContain("no primary");
    expect(text).toContain("db1  down  10.0.0.1:3306  read_only ?  GTID unknown");
  });
});
