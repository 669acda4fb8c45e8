// A replica with errant transactions (GTIDs written on it that the primary never had):
// ServerDiverged at once; flagged diverged — excluded from promotion, never pulled from —
// only once a primary sample begun after the replica's confirms it; unflagged if the
// primary turns out to have them; flagged again when it has more.
import type { ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { chooseCandidateNow } from "../src/candidates.js";
import { Driver, healthyObservations, makeConfig, situationsIn } from "./helpers.js";

function cluster() {
  const config = makeConfig({
    servers: [{ name: "db1" }, { name: "db2" }, { name: "db3", promotion: "prefer" }],
  });
  const d = new Driver(config);
  const h = healthyObservations(config);
  d.round(h);
  return { d, h, config };
}

/** db3 (server 3) wrote `pos` itself while replicating 0-1-100 from db1. */
const errant = (o: ServerObservation, pos = "0-3-101"): ServerObservation => ({
  ...o,
  gtidBinlogPos: pos,
  gtidBinlogState: `0-1-100,${pos}`,
  gtidCurrentPos: pos,
});

describe("a replica with errant transactions", () => {
  it("is ServerDiverged at once, flagged only after a later primary sample", () => {
    const { d, h } = cluster();
    d.advance(500);
    // db1's sample is older than db3's: db1 may merely not have been looked at since.
    const first = d.round({ db3: errant(h.db3!) });
    expect(situationsIn(first)).toEqual(["ServerDiverged db3"]);
    expect(d.state.diverged).toEqual({});
    // The situation alone already keeps it out of a promotion.
    const before = chooseCandidateNow(d.state, d.config, d.now, "db1", "failover");
    expect(before.ranked.find((r) => r.server === "db3")?.excluded).toMatch(/diverged/);
    d.advance(10);
    d.health("db1", h.db1!);
    expect(d.state.diverged).toEqual({}); // begun within the margin: still not confirmed
    d.advance(500);
    d.health("db1", h.db1!);
    expect(d.state.diverged.db3).toMatchObject({
      situation: "ServerDiverged",
      extraGtids: "0-3-101",
      errant: true,
      reason: "applied 0-3-101 that db1 never had (errant transactions)",
    });
  });

  it("is flagged though every round's replica sample arrives before the busy primary's", () => {
    const { d, h } = cluster();
    // Each round both probes begin together; db3 answers at once, db1 (busy) 100 ms later:
    // the latest db3 sample never precedes the latest db1 probe. The first db3 sample that
    // showed 0-3-101 does precede the next round's db1 probe, and that confirms it.
    for (let i = 0; i < 2; i++) {
      d.advance(1000);
      d.health("db3", errant(h.db3!));
      d.advance(100);
      d.health("db1", h.db1!, { latencyMs: 100 });
      if (i === 0) expect(d.state.diverged).toEqual({});
    }
    expect(d.state.diverged.db3).toMatchObject({ extraGtids: "0-3-101", errant: true });
  });

  it("once flagged: excluded from a failover's choice though it is preferred", () => {
    const { d, h } = cluster();
    d.advance(500);
    d.round({ db3: errant(h.db3!) });
    d.advance(500);
    d.health("db1", h.db1!);
    d.advance(500);
    // Samples of db3 now carry no situation of their own: the flag holds it.
    const later = d.round({ db2: h.db2!, db3: errant(h.db3!) });
    expect(situationsIn(later)).toEqual([]);
    const c = chooseCandidateNow(d.state, d.config, d.now, "db1", "failover");
    expect(c.ok && c.candidate).toBe("db2");
    expect(c.ranked.find((r) => r.server === "db3")?.excluded).toBe(
      "diverged from the primary's history (errant transactions)",
    );
    // Unflagged, the same db3 would be chosen (preferred): the exclusion is what decides.
    d.state.diverged = {};
    d.state.situations = {};
    const free = chooseCandidateNow(d.state, d.config, d.now, "db1", "failover");
    expect(free.ok && free.candidate).toBe("db3");
  });

  it("is unflagged once a primary sample shows the primary has them", () => {
    const { d, h } = cluster();
    d.advance(500);
    d.round({ db3: errant(h.db3!) });
    d.advance(500);
    d.health("db1", h.db1!);
    expect(d.state.diverged.db3).toBeDefined();
    // An operator replayed 0-3-101 on db1.
    const fixed: ServerObservation = { ...h.db1!, gtidBinlogState: "0-1-100,0-3-101" };
    d.advance(500);
    d.health("db3", errant(h.db3!));
    d.advance(500);
    d.health("db1", fixed);
    d.advance(500);
    d.health("db3", errant(h.db3!));
    expect(d.state.diverged).toEqual({});
    expect(d.state.situations.db3 ?? []).toEqual([]);
  });

  it("stays flagged when the primary's next transaction moves its current position (strict mode off)", () => {
    const { d, h } = cluster();
    d.advance(500);
    d.round({ db3: errant(h.db3!) });
    d.advance(500);
    d.health("db1", h.db1!);
    expect(d.state.diverged.db3).toBeDefined();
    // db1 writes 0-1-102; db3 (gtid_strict_mode off) applies it: its current position is
    // db1's again, the errant 0-3-101 only in its binlog state.
    const primaryOn = {
      ...h.db1!,
      gtidBinlogPos: "0-1-102",
      gtidBinlogState: "0-1-102",
      gtidCurrentPos: "0-1-102",
    };
    const replicaOn = {
      ...h.db3!,
      gtidBinlogPos: "0-1-102",
      gtidBinlogState: "0-1-102,0-3-101",
      gtidCurrentPos: "0-1-102",
      gtidSlavePos: "0-1-102",
    };
    for (let i = 0; i < 3; i++) {
      d.advance(500);
      d.health("db3", replicaOn);
      d.advance(500);
      d.health("db1", primaryOn);
    }
    expect(d.state.diverged.db3).toMatchObject({ extraGtids: "0-3-101", errant: true });
  });

  it("is flagged from its binlog state when its errant GTID is beyond anything the primary has", () => {
    const { d, h } = cluster();
    d.advance(500);
    // Strict mode off: db3 wrote 0-3-101 and its current position shows the replicated 0-1-100
    // (a GTID of another server id is not its current position).
    d.round({ db3: { ...h.db3!, gtidBinlogState: "0-1-100,0-3-101" } });
    d.advance(500);
    d.health("db1", h.db1!);
    expect(d.state.diverged.db3).toMatchObject({ extraGtids: "0-3-101" });
  });

  it("an older pair of another server in its binlog state is not errant (a rebuilt primary lacks its history)", () => {
    const { d, h } = cluster();
    d.advance(500);
    d.round({ db3: { ...h.db3!, gtidBinlogState: "0-1-100,0-3-50" } });
    d.advance(500);
    d.health("db1", h.db1!);
    expect(d.state.diverged).toEqual({});
  });

  it("is flagged again with the new GTIDs when it wrote more", () => {
    const { d, h } = cluster();
    d.advance(500);
    d.round({ db3: errant(h.db3!) });
    d.advance(500);
    d.health("db1", h.db1!);
    const since = d.state.diverged.db3?.since;
    d.advance(500);
    d.health("db3", errant(h.db3!, "0-3-104"));
    d.advance(500);
    d.health("db1", h.db1!);
    d.advance(500);
    d.health("db3", errant(h.db3!, "0-3-104"));
    expect(d.state.diverged.db3).toMatchObject({ extraGtids: "0-3-104", since });
  });
});
