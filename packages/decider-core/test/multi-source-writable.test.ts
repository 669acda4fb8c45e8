import type { ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { writableForOtherDomain } from "../src/writable.js";
import { conn, Driver, makeConfig, obs, situationsIn, stepsIn } from "./helpers.js";

// The decider runs per cluster. A multi-source replica shared by two clusters (p1 = {db1,
// db3}, p2 = {db2, db3}) that cluster p1 promoted is writable; cluster p2 still sees a
// replica of its primary db2. "Writable replica" is judged per GTID domain: a server that
// writes in a domain that is not ours, and carries a domain from outside this cluster, is
// the primary of another stream — not our split brain.

type Gtids = Pick<
  ServerObservation,
  "gtidDomainId" | "gtidBinlogPos" | "gtidBinlogState" | "gtidCurrentPos" | "gtidSlavePos"
>;
const g = (domain: number, current: string, slave = current, binlog = ""): Gtids => ({
  gtidDomainId: domain,
  gtidBinlogPos: binlog,
  gtidBinlogState: binlog,
  gtidCurrentPos: current,
  gtidSlavePos: slave,
});

describe("writableForOtherDomain", () => {
  const cases: [string, Gtids, Gtids, boolean][] = [
    [
      "multi-source replica promoted by another cluster (domain 0; holds domain 1 from db1)",
      g(0, "1-1-30,2-2-50", "1-1-30,2-2-50"),
      g(2, "2-2-50", "", "2-2-50"),
      true,
    ],
    [
      "same, after it wrote in its own domain",
      g(0, "0-3-4,1-1-30,2-2-50", "1-1-30,2-2-50", "0-3-4,1-1-30,2-2-50"),
      g(2, "2-2-55", "", "2-2-55"),
      true,
    ],
    [
      "single-domain cluster: a writable replica writes in our domain",
      g(0, "0-1-100"),
      g(0, "0-1-100", "", "0-1-100"),
      false,
    ],
    [
      "a replica with its own domain id but nothing from outside (written to by mistake)",
      g(3, "0-1-100,3-3-5", "0-1-100", "0-1-100,3-3-5"),
      g(0, "0-1-100", "", "0-1-100"),
      false,
    ],
    [
      "a server whose domain is in our primary's history (a former primary of ours)",
      g(1, "1-1-30,5-9-1", "5-9-1"),
      g(2, "2-2-50", "1-1-30", "1-1-30,2-2-50"),
      false,
    ],
    [
      "a foreign domain that is its own only (nothing received from outside)",
      g(7, "7-3-2,2-2-50", "2-2-50"),
      g(2, "2-2-50", "", "2-2-50"),
      false,
    ],
  ];
  it.each(cases)("%s", (_name, server, primary, other) => {
    const why = writableForOtherDomain(server, primary);
    expect(why !== null).toBe(other);
    if (why) expect(why).toMatch(/another replication stream/);
  });
});

describe("cluster p2 = {db2, db3} when cluster p1 promoted the shared replica db3", () => {
  function p2(db3Domain: number, db3Current: string) {
    const config = makeConfig({ servers: [{ name: "db2" }, { name: "db3" }] });
    const d = new Driver(config);
    const db2 = obs({
      serverId: 2,
      gtidDomainId: 2,
      readOnly: false,
      gtidBinlogPos: "2-2-50",
      gtidBinlogState: "2-2-50",
      gtidCurrentPos: "2-2-50",
    });
    const db3 = (readOnly: boolean) =>
      obs({
        serverId: 3,
        gtidDomainId: db3Domain,
        readOnly,
        gtidBinlogPos: db3Current,
        gtidBinlogState: db3Current,
        gtidCurrentPos: db3Current,
        gtidSlavePos: "1-1-30,2-2-50",
        // Its link to db1 (cluster p1) was reset by p1's failover; 'p2' from db2 runs.
        replication: [conn(config, "db2", { connection: "p2", gtidIoPos: "1-1-30,2-2-50" })],
      });
    d.round({ db2, db3: db3(true) });
    expect(d.state.primary).toBe("db2");
    d.advance(500);
    return { d, db2, db3 };
  }

  it("does not fence db3 when it writes in a domain of its own and holds p1's domain", () => {
    const { d, db2, db3 } = p2(0, "1-1-30,2-2-50");
    const a = [...d.health("db2", db2), ...d.health("db3", db3(false))];
    expect(situationsIn(a)).toEqual([]);
    expect(stepsIn(a)).toEqual([]);
    d.advance(6000); // past enforceRetryMs: still nothing
    const b = [...d.health("db2", db2), ...d.health("db3", db3(false))];
    expect(stepsIn(b)).toEqual([]);
    expect(d.state.topology.last?.writer?.server).toBe("db2");
  });

  it("still fences db3 when it writes in db2's domain", () => {
    const { d, db2, db3 } = p2(2, "1-1-30,2-2-50");
    const a = [...d.health("db2", db2), ...d.health("db3", db3(false))];
    expect(situationsIn(a)).toEqual(["SplitBrainRisk", "ReplicaWritable db3"]);
    expect(stepsIn(a).map((s) => [s.request.server, s.request.step])).toEqual([
      ["db3", { kind: "fence", kill: "none" }],
    ]);
  });
});
