import { parseGtidList, seqInDomain } from "@marina/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pendingGtids } from "../src/pending.js";

describe("pendingGtids", () => {
  it.each([
    // io, slave_pos, binlog_pos, pending
    ["0-1-10", "0-1-7", "0-1-7", "0-1-10"],
    ["0-1-10", "0-1-10", "0-1-10", ""],
    ["", "0-1-5", "0-1-5", ""],
    // multi-source: this connection carries domain 1; domain 2 is another source's
    ["1-1-20,2-2-8", "1-1-15,2-2-30", "1-1-15,2-2-30", "1-1-20"],
    // current_pos: local writes of domain 0 appear in IO pos but only in the binlog
    ["0-3-50,1-1-9", "1-1-4", "0-3-50,1-1-4", "1-1-9"],
    // the same domain from an earlier server id: compared by sequence within the domain
    ["0-2-12", "0-1-11", "0-1-11", "0-2-12"],
  ])("io %s, slave %s, binlog %s → %j", (io, slave, binlog, pending) => {
    expect(pendingGtids(io, slave, binlog)).toBe(pending);
  });

  it("only names GTIDs from the IO position that are beyond both applied positions", () => {
    const gtid = fc
      .tuple(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.bigInt({ min: 1n, max: 50n }),
      )
      .map(([d, s, n]) => `${d}-${s}-${n}`);
    const list = fc.array(gtid, { maxLength: 5 }).map((xs) => xs.join(","));
    fc.assert(
      fc.property(list, list, list, (io, slave, binlog) => {
        const out = parseGtidList(pendingGtids(io, slave, binlog));
        const ioList = parseGtidList(io);
        for (const g of out) {
          expect(seqInDomain(ioList, g.domain)).toBe(g.seq);
          expect(g.seq > seqInDomain(parseGtidList(slave), g.domain)).toBe(true);
          expect(g.seq > seqInDomain(parseGtidList(binlog), g.domain)).toBe(true);
        }
      }),
    );
  });
});
