import type { ServerObservation } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { type CandidateInput, chooseCandidate } from "../src/candidates.js";
import { conn, makeConfig, obs } from "./helpers.js";

const config = makeConfig({
  servers: [{ name: "db1" }, { name: "db2" }, { name: "db3" }, { name: "db4" }],
  failover: { maxLagSeconds: 30 },
});

type Conn = Parameters<typeof conn>[2];
/** A replica of db1 that received `io` (and applied it unless told otherwise). */
const rep = (io: string, c: Conn = {}, o: Partial<ServerObservation> = {}): ServerObservation =>
  obs({
    gtidCurrentPos: io,
    gtidBinlogPos: io,
    gtidSlavePos: io,
    replication: [
      conn(config, "db1", {
        gtidIoPos: io,
        secondsBehindMaster: null,
        ioThread: "Connecting",
        ...c,
      }),
    ],
    ...o,
  });

const base = (
  servers: CandidateInput["servers"],
  over: Partial<CandidateInput> = {},
): CandidateInput => ({
  config,
  primary: "db1",
  servers,
  maintenance: [],
  diverged: [],
  lastLag: {},
  mode: "failover",
  ...over,
});

describe("chooseCandidate (rule 2)", () => {
  it("picks the replica that RECEIVED the most (IO pos), not the one that applied the most", () => {
    const r = chooseCandidate(
      base({
        db2: rep("0-1-100"),
        // Received up to 105 but applied only 98: after draining it has the most.
        db3: rep("0-1-105", {}, { gtidCurrentPos: "0-1-98", gtidBinlogPos: "0-1-98" }),
        db4: rep("0-1-101"),
      }),
    );
    expect(r.ok && r.candidate).toBe("db3");
    expect(r.ok && r.pulls).toEqual([]);
  });

  it("prefers log_slave_updates at an equal position, then config order", () => {
    const r = chooseCandidate(
      base({
        db2: rep("0-1-100", {}, { logSlaveUpdates: false }),
        db3: rep("0-1-100"),
        db4: rep("0-1-100"),
      }),
    );
    expect(r.ok && r.candidate).toBe("db3");
    expect(r.ranked.map((x) => x.server)).toEqual(["db3", "db4", "db2"]);
  });

  const exclusions: [string, Partial<CandidateInput>, ServerObservation, RegExp][] = [
    [
      "neverPromote",
      {
        config: makeConfig({
          servers: [
            { name: "db1" },
            { name: "db2", neverPromote: true },
            { name: "db3" },
            { name: "db4" },
          ],
        }),
      },
      rep("0-1-100"),
      /neverPromote/,
    ],
    ["maintenance", { maintenance: ["db2"] }, rep("0-1-100"), /maintenance/],
    ["diverged", { diverged: ["db2"] }, rep("0-1-100"), /diverged/],
    ["no log_bin", {}, rep("0-1-100", {}, { logBin: false }), /log_bin is off/],
    ["SQL thread stopped", {}, rep("0-1-100", { sqlThread: false }), /SQL thread is stopped/],
    [
      "last SQL error",
      {},
      rep("0-1-100", { lastSqlErrno: 1062, lastSqlError: "Duplicate entry" }),
      /1062/,
    ],
    [
      "lag above max (Seconds_Behind_Master)",
      {},
      rep("0-1-100", { secondsBehindMaster: 31, ioThread: "Yes" }),
      /lag 31 s/,
    ],
    [
      "lag above max (last known, IO now down)",
      { lastLag: { db2: { "": 120 } } },
      rep("0-1-100"),
      /lag 120 s/,
    ],
  ];

  it.each(exclusions)("excludes a replica with %s", (_n, over, db2, why) => {
    // db2 would win the config-order tie; excluded, it leaves db3 (same position, no pull).
    const r = chooseCandidate(base({ db2, db3: rep("0-1-100") }, over));
    expect(r.ranked.find((x) => x.server === "db2")?.excluded).toMatch(why);
    expect(r.ok && r.candidate).toBe("db3");
    expect(r.ok && r.pulls).toEqual([]);
  });

  describe("an errant replica (diverged: GTIDs of its own the primary never had)", () => {
    // db2 received 0-1-100 from db1 and wrote 0-2-7 itself: its binlog has both.
    const errant = rep(
      "0-1-100",
      {},
      { gtidCurrentPos: "0-2-7", gtidBinlogPos: "0-2-7", gtidSlavePos: "0-1-100" },
    );
    const errantAhead = rep(
      "0-1-101",
      {},
      { gtidCurrentPos: "0-2-7", gtidBinlogPos: "0-2-7", gtidSlavePos: "0-1-101" },
    );
    const cases: [string, CandidateInput, string | null, RegExp][] = [
      [
        "is excluded and never pulled from for its own transactions",
        base({ db2: errant, db3: rep("0-1-100") }, { diverged: ["db2"] }),
        "db3",
        /diverged/,
      ],
      [
        "is excluded even when it is the most advanced by its own writes",
        base({ db2: errant, db3: rep("0-1-99"), db4: rep("0-1-100") }, { diverged: ["db2"] }),
        "db4",
        /errant/,
      ],
      [
        "refuses the failover when it alone received what the candidate lacks",
        base({ db2: errantAhead, db3: rep("0-1-100") }, { diverged: ["db2"] }),
        null,
        /db2 received 0-1-101 that db3 lacks, but it diverged/,
      ],
    ];
    it.each(cases)("%s", (_n, input, candidate, why) => {
      const r = chooseCandidate(input);
      if (candidate === null) {
        expect(r.ok).toBe(false);
        expect(!r.ok && r.reason).toMatch(why);
        return;
      }
      expect(r.ok && r.candidate).toBe(candidate);
      expect(r.ok && r.pulls).toEqual([]);
      expect(r.ranked.find((x) => x.server === "db2")?.excluded).toMatch(why);
    });

    it("the same servers unflagged: db2 wins, or is pulled from (the table can fail)", () => {
      const a = chooseCandidate(base({ db2: errant, db3: rep("0-1-100") }));
      expect(a.ok && a.candidate).toBe("db2");
      const b = chooseCandidate(base({ db2: errantAhead, db3: rep("0-1-100") }));
      expect(b.ok && b.candidate).toBe("db2");
    });
  });

  it("without exclusions the same db2 wins the tie (the table above can fail)", () => {
    const r = chooseCandidate(base({ db2: rep("0-1-100"), db3: rep("0-1-100") }));
    expect(r.ok && r.candidate).toBe("db2");
  });

  it("an excluded replica that cannot serve its extra transactions blocks the choice", () => {
    const r = chooseCandidate(
      base({
        db2: rep("0-1-100", { sqlThread: false }), // cannot apply, so cannot serve
        db3: rep("0-1-99"),
      }),
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe("NO_CANDIDATE");
      expect(r.reason).toMatch(/db2 holds 0-1-100 that db3 lacks and cannot serve it/);
    }
  });

  it("unknown lag (null, never seen) is allowed", () => {
    const r = chooseCandidate(base({ db2: rep("0-1-100", { secondsBehindMaster: null }) }));
    expect(r.ok && r.candidate).toBe("db2");
  });

  it("pulls from a more advanced neverPromote replica instead of losing its transactions", () => {
    const cfg = makeConfig({
      servers: [{ name: "db1" }, { name: "db2" }, { name: "db3", neverPromote: true }],
    });
    const r = chooseCandidate(base({ db2: rep("0-1-100"), db3: rep("0-1-104") }, { config: cfg }));
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.candidate).toBe("db2");
      expect(r.pulls).toEqual([{ from: "db3", connection: "", pos: "0-1-104" }]);
    }
  });

  it("needs log_slave_updates on the pull source", () => {
    const cfg = makeConfig({
      servers: [{ name: "db1" }, { name: "db2" }, { name: "db3", neverPromote: true }],
    });
    const r = chooseCandidate(
      base(
        { db2: rep("0-1-100"), db3: rep("0-1-104", {}, { logSlaveUpdates: false }) },
        { config: cfg },
      ),
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/log_slave_updates is off/);
  });

  it("no live replica of the primary → NO_CANDIDATE", () => {
    const r = chooseCandidate(base({ db2: null, db3: obs() }));
    expect(r).toMatchObject({ ok: false, code: "NO_CANDIDATE" });
  });

  describe("explicit target", () => {
    it("is refused when it does not replicate from the primary", () => {
      const r = chooseCandidate(base({ db2: rep("0-1-100"), db3: obs() }, { target: "db3" }));
      expect(r).toMatchObject({ ok: false, code: "TARGET_NOT_ELIGIBLE" });
      expect(!r.ok && r.reason).toMatch(/db3 does not replicate from db1/);
    });
    it("is refused when it is not reachable", () => {
      const r = chooseCandidate(base({ db2: rep("0-1-100"), db3: null }, { target: "db3" }));
      expect(!r.ok && r.reason).toMatch(/not reachable/);
    });
    it("is refused when excluded, with the reason", () => {
      const r = chooseCandidate(
        base({ db2: rep("0-1-100"), db3: rep("0-1-100") }, { target: "db3", maintenance: ["db3"] }),
      );
      expect(r).toMatchObject({ ok: false, code: "TARGET_NOT_ELIGIBLE" });
      expect(!r.ok && r.reason).toMatch(/db3: in maintenance/);
    });
    it("is refused when it is the primary", () => {
      const r = chooseCandidate(base({ db2: rep("0-1-100") }, { target: "db1" }));
      expect(!r.ok && r.reason).toMatch(/is the primary/);
    });
    it("that lacks transactions another live replica has gets a pull when the other can serve", () => {
      const r = chooseCandidate(
        base({ db2: rep("0-1-105"), db3: rep("0-1-100") }, { target: "db3" }),
      );
      expect(r.ok && r.candidate).toBe("db3");
      expect(r.ok && r.pulls).toEqual([{ from: "db2", connection: "", pos: "0-1-105" }]);
    });
    it("that lacks transactions nobody can serve is refused", () => {
      const r = chooseCandidate(
        base(
          { db2: rep("0-1-105", {}, { logSlaveUpdates: false }), db3: rep("0-1-100") },
          { target: "db3" },
        ),
      );
      expect(r).toMatchObject({ ok: false, code: "TARGET_NOT_ELIGIBLE" });
      expect(!r.ok && r.reason).toMatch(/db2 holds 0-1-105 that db3 lacks/);
    });
  });

  it("switchover mode never plans pulls (the live primary serves everyone)", () => {
    const r = chooseCandidate(
      base({ db2: rep("0-1-105"), db3: rep("0-1-100") }, { target: "db3", mode: "switchover" }),
    );
    expect(r.ok && r.pulls).toEqual([]);
  });

  it("multi-source: ranks by the primary's domains only and names the connection to it", () => {
    // db3 replicates db1 on 'a' (domain 0) and db4 on 'b' (domain 1); db2 only db1.
    const db3 = obs({
      gtidCurrentPos: "0-1-100,1-4-900",
      gtidBinlogPos: "0-1-100,1-4-900",
      replication: [
        conn(config, "db1", {
          connection: "a",
          gtidIoPos: "0-1-100",
          ioThread: "Connecting",
          secondsBehindMaster: null,
        }),
        conn(config, "db4", { connection: "b", gtidIoPos: "1-4-900" }),
      ],
    });
    const r = chooseCandidate(
      base({ db2: rep("0-1-99"), db3, db4: obs({ readOnly: false, gtidCurrentPos: "1-4-900" }) }),
    );
    expect(r.ok && r.candidate).toBe("db3");
    expect(r.ok && r.connection).toBe("a");
    expect(r.ok && r.position).toBe("0-1-100");
  });

  it("a diverged history (0-1-101 vs 0-2-105) is a missing transaction, not 'behind'", () => {
    // db2 got 0-1-101 from db1; db3's history went on under server 2 up to 0-2-105.
    const r = chooseCandidate(
      base({ db2: rep("0-1-101"), db3: rep("0-2-105") }, { target: "db3" }),
    );
    expect(r.ok && r.pulls.map((p) => p.from)).toEqual(["db2"]);
  });
});

describe("chooseCandidate with a multi-source replica among the replicas", () => {
  // db3 replicates db1 (domain 1) and another cluster's primary (domain 2): its connection
  // to db1 shows every domain of gtid_slave_pos in Gtid_IO_Pos (10.11), domain 2 included.
  const multi = rep("1-1-100,2-2-900", {}, { gtidCurrentPos: "1-1-100,2-2-900" });
  it.each([
    // Without the primary's domains, domain 2 makes db3 look ahead: db2 would pull it.
    [undefined, [{ from: "db3", pos: "1-1-100,2-2-900" }]],
    // With them: db3 received nothing of db1's stream that db2 lacks.
    [[1], []],
  ])("primaryDomains %j → pulls %j", (primaryDomains, pulls) => {
    const r = chooseCandidate(
      base(
        { db2: rep("1-1-100"), db3: multi },
        {
          ...(primaryDomains ? { primaryDomains } : {}),
          config: makeConfig({
            servers: [{ name: "db1" }, { name: "db2" }, { name: "db3", promotion: "never" }],
          }),
        },
      ),
    );
    expect(r.ok && r.candidate).toBe("db2");
    expect(r.ok && r.pulls.map(({ from, pos }) => ({ from, pos }))).toEqual(pulls);
  });
});
