import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  atOrBeyond,
  compareInDomain,
  contains,
  formatGtidList,
  type Gtid,
  GtidParseError,
  missingFrom,
  mostAdvanced,
  normalize,
  parseGtidList,
  positionOf,
  union,
} from "../src/gtid.js";

const gtidArb: fc.Arbitrary<Gtid> = fc.record({
  domain: fc.integer({ min: 0, max: 0xffff_ffff }),
  server: fc.integer({ min: 0, max: 0xffff_ffff }),
  seq: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
});
// Small id spaces so that lists share domains and servers often.
const smallGtid: fc.Arbitrary<Gtid> = fc.record({
  domain: fc.integer({ min: 0, max: 2 }),
  server: fc.integer({ min: 1, max: 3 }),
  seq: fc.bigInt({ min: 1n, max: 20n }),
});
const smallList = fc.array(smallGtid, { maxLength: 6 });

describe("parseGtidList", () => {
  it.each([
    ["", []],
    ["0-1-10", [{ domain: 0, server: 1, seq: 10n }]],
    [
      "0-1-10,1-2-5",
      [
        { domain: 0, server: 1, seq: 10n },
        { domain: 1, server: 2, seq: 5n },
      ],
    ],
    [
      " 0-1-10 ,\n1-2-5 ",
      [
        { domain: 0, server: 1, seq: 10n },
        { domain: 1, server: 2, seq: 5n },
      ],
    ],
    [
      "4294967295-4294967295-18446744073709551615",
      [{ domain: 4294967295, server: 4294967295, seq: 18446744073709551615n }],
    ],
  ])("parses %j", (text, expected) => {
    expect(parseGtidList(text)).toEqual(expected);
  });

  it.each([
    ["0-1", /three parts/],
    ["0-1-2-3", /three parts/],
    ["a-1-2", /domain "a"/],
    ["0-x-2", /server "x"/],
    ["0-1-", /sequence ""/],
    ["0-1--2", /three parts/],
    ["0-1-2,", /GTID #2 is empty/],
    ["4294967296-1-1", /domain exceeds 32 bits/],
    ["1-4294967296-1", /server exceeds 32 bits/],
    ["1-1-18446744073709551616", /sequence exceeds 64 bits/],
    ["0-1-1e3", /not an unsigned integer/],
  ])("rejects %j with a typed error naming the problem", (text, message) => {
    let caught: unknown;
    try {
      parseGtidList(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GtidParseError);
    expect((caught as GtidParseError).code).toBe("GTID_PARSE");
    expect((caught as Error).message).toMatch(message);
  });

  it("round-trips any list without precision loss", () => {
    fc.assert(
      fc.property(fc.array(gtidArb, { maxLength: 8 }), (list) => {
        const text = formatGtidList(list);
        expect(formatGtidList(parseGtidList(text))).toBe(text);
        expect(parseGtidList(text)).toHaveLength(list.length);
      }),
    );
  });
});

describe("containment", () => {
  it("detects the diverged old primary that a per-domain comparison would miss", () => {
    const newPrimary = parseGtidList("0-1-100,0-2-105");
    const oldPrimary = parseGtidList("0-1-101");
    expect(compareInDomain(newPrimary, oldPrimary, 0)).toBe(1);
    expect(contains(newPrimary, oldPrimary)).toBe(false);
    expect(formatGtidList(missingFrom(newPrimary, oldPrimary))).toBe("0-1-101");
  });

  it("accepts a returning primary that is behind", () => {
    const newPrimary = parseGtidList("0-1-100,0-2-105");
    expect(contains(newPrimary, parseGtidList("0-1-99"))).toBe(true);
    expect(contains(newPrimary, parseGtidList("0-1-100"))).toBe(true);
  });

  it("needs every domain", () => {
    expect(contains(parseGtidList("1-1-5"), parseGtidList("1-1-5,2-2-1"))).toBe(false);
    expect(formatGtidList(missingFrom(parseGtidList("1-1-5"), parseGtidList("1-1-5,2-2-1")))).toBe(
      "2-2-1",
    );
  });

  it("is reflexive", () => {
    fc.assert(fc.property(smallList, (a) => contains(a, a)));
  });

  it("holds for anything united in", () => {
    fc.assert(fc.property(smallList, smallList, (a, b) => contains(union(a, b), a)));
  });

  // A model of strict-mode histories: per domain one linear sequence of transactions
  // (server, seq) with rising seq. A server holds a prefix of each domain; its binlog state
  // is the last GTID per (domain, server) of that prefix. containment must equal "the
  // prefix is shorter or equal" in every domain.
  const historyArb = fc
    .array(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 12 }), {
      minLength: 1,
      maxLength: 3,
    })
    .map((domains) =>
      domains.map((servers, d) =>
        servers.map((server, i) => ({ domain: d, server, seq: BigInt(i + 1) })),
      ),
    );
  const cutsArb = (h: Gtid[][]) =>
    fc.tuple(...h.map((txs) => fc.integer({ min: 0, max: txs.length })));

  it("matches the prefix model of linear histories", () => {
    fc.assert(
      fc.property(
        historyArb.chain((h) => fc.tuple(fc.constant(h), cutsArb(h), cutsArb(h))),
        ([h, cutA, cutB]) => {
          const state = (cut: number[]) => normalize(h.flatMap((txs, d) => txs.slice(0, cut[d])));
          const expected = cutA.every((a, d) => a <= cutB[d]!);
          expect(contains(state(cutB), state(cutA))).toBe(expected);
        },
      ),
    );
  });

  it("sees a diverged branch as not contained, both ways", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 5 }),
        (base, extra) => {
          const shared = [{ domain: 0, server: 1, seq: BigInt(base) }];
          const a = [...shared, { domain: 0, server: 1, seq: BigInt(base + 1) }];
          const b = [...shared, { domain: 0, server: 2, seq: BigInt(base + extra) }];
          return !contains(b, a) && !contains(a, b);
        },
      ),
    );
  });

  it("reports nothing missing exactly when contained", () => {
    fc.assert(
      fc.property(smallList, smallList, (a, b) => {
        const missing = missingFrom(b, a);
        expect(missing.length === 0).toBe(contains(b, a));
        for (const g of missing) expect(contains(b, [g])).toBe(false);
        expect(contains(union(b, missing), a)).toBe(true);
      }),
    );
  });
});

describe("positions", () => {
  it("keeps one GTID per domain, the highest", () => {
    expect(formatGtidList(positionOf(parseGtidList("0-1-5,0-2-7,1-1-3,0-3-6")))).toBe(
      "0-2-7,1-1-3",
    );
  });

  it("normalize keeps one per domain and server", () => {
    fc.assert(
      fc.property(smallList, (a) => {
        const n = normalize(a);
        const keys = n.map((g) => `${g.domain}-${g.server}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect(contains(n, a) && contains(a, n)).toBe(true);
      }),
    );
  });

  it("mostAdvanced picks a position at or beyond every other", () => {
    fc.assert(
      fc.property(fc.array(smallList, { minLength: 1, maxLength: 5 }), (positions) => {
        const ranked = positions.map((p, i) => ({ item: i, position: p }));
        const best = mostAdvanced(ranked);
        if (best) {
          for (const r of ranked) expect(atOrBeyond(best.position, r.position)).toBe(true);
        } else {
          // nobody dominates: each candidate is behind someone somewhere
          for (const r of ranked) {
            expect(ranked.some((o) => !atOrBeyond(r.position, o.position))).toBe(true);
          }
        }
      }),
    );
  });

  it("mostAdvanced is undefined when two are ahead in different domains", () => {
    const ranked = [
      { item: "a", position: parseGtidList("1-1-10,2-2-1") },
      { item: "b", position: parseGtidList("1-1-9,2-2-2") },
    ];
    expect(mostAdvanced(ranked)).toBeUndefined();
    expect(mostAdvanced(ranked, [1])?.item).toBe("a");
  });
});
