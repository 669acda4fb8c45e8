// Which backup directories a prune deletes (backup/retention.ts), table-driven: the newest
// `keep` complete backups always stay, leftovers without a manifest go, `olderThanDays`
// spares the recent ones, and anything not Marina's is left alone.
import type { BackupManifest } from "@marina/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BackupDirEntry,
  backupIdTime,
  newestFirst,
  selectPrune,
} from "../src/backup/retention.js";

const NOW = Date.parse("2026-12-10T12:00:00Z");

/** A complete backup (a manifest), a leftover (none), a bad manifest, or not a directory. */
const ok = (id: string): BackupDirEntry => ({
  name: id,
  type: "dir",
  manifest: { id } as BackupManifest,
});
const leftover = (id: string): BackupDirEntry => ({ name: id, type: "dir", manifest: "absent" });
const bad = (id: string): BackupDirEntry => ({ name: id, type: "dir", manifest: "invalid" });
const link = (id: string): BackupDirEntry => ({ name: id, type: "other", manifest: "invalid" });

const D1 = "20261201T000000Z";
const D2 = "20261202T000000Z";
const D3 = "20261203T000000Z";
const D8 = "20261208T000000Z";
const D9 = "20261209T000000Z";
const D10 = "20261210T000000Z";

const cases: {
  name: string;
  entries: BackupDirEntry[];
  keep: number;
  olderThanDays?: number;
  deleted: string[];
  kept: string[];
  skipped?: string[];
}[] = [
  { name: "nothing there", entries: [], keep: 1, deleted: [], kept: [] },
  {
    name: "keep 1 of 3: the two older go",
    entries: [ok(D1), ok(D3), ok(D2)],
    keep: 1,
    deleted: [D2, D1],
    kept: [D3],
  },
  {
    name: "keep larger than the count: nothing goes",
    entries: [ok(D1), ok(D2)],
    keep: 5,
    deleted: [],
    kept: [D2, D1],
  },
  {
    name: "incomplete leftovers go, even newer than the newest complete one",
    entries: [ok(D1), leftover(D2), ok(D3), leftover(D9)],
    keep: 2,
    deleted: [D9, D2],
    kept: [D3, D1],
  },
  {
    name: "a leftover begun less than a day ago stays, whatever the rule",
    entries: [ok(D1), ok(D2), leftover(D10)],
    keep: 1,
    deleted: [D1],
    kept: [D10, D2],
  },
  {
    name: "never the newest complete backup, however many leftovers are newer",
    entries: [leftover(D8), leftover(D9), ok(D1)],
    keep: 1,
    deleted: [D9, D8],
    kept: [D1],
  },
  {
    name: "a name like a backup id with a suffix of its own does not scramble the order",
    entries: [ok("20261201T000000Z"), ok("20261201T000000Z-copy"), ok("20261201T000000Z-2")],
    keep: 1,
    deleted: ["20261201T000000Z"],
    kept: ["20261201T000000Z-2"],
    skipped: ["20261201T000000Z-copy"],
  },
  {
    name: "only leftovers: all go",
    entries: [leftover(D1), leftover(D2)],
    keep: 1,
    deleted: [D2, D1],
    kept: [],
  },
  {
    name: "olderThanDays spares recent complete ones and recent leftovers",
    entries: [ok(D1), ok(D2), ok(D9), ok(D10), leftover(D3), leftover(D8)],
    keep: 1,
    olderThanDays: 7,
    deleted: [D3, D2, D1],
    kept: [D10, D9, D8],
  },
  {
    name: "olderThanDays never deletes within the newest keep",
    entries: [ok(D1), ok(D2)],
    keep: 2,
    olderThanDays: 1,
    deleted: [],
    kept: [D2, D1],
  },
  {
    name: "same second: -2 is newer than the plain id, -10 newer than -9",
    entries: [ok(D1), ok(`${D1}-2`), ok(`${D1}-9`), ok(`${D1}-10`)],
    keep: 2,
    deleted: [`${D1}-2`, D1],
    kept: [`${D1}-10`, `${D1}-9`],
  },
  {
    name: "symlinks, files, foreign names and bad manifests are left alone",
    entries: [ok(D1), link(D2), bad(D3), ok("notes"), leftover("..x"), ok(D9)],
    keep: 1,
    deleted: [D1],
    kept: [D9],
    skipped: [D3, D2, "notes", "..x"],
  },
];

describe("selectPrune", () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = selectPrune(c.entries, { keep: c.keep, olderThanDays: c.olderThanDays, now: NOW });
      expect(r.deleted.map((x) => x.id)).toEqual(c.deleted);
      expect(r.kept.map((x) => x.id)).toEqual(c.kept);
      expect(r.skipped.map((x) => x.id).sort()).toEqual([...(c.skipped ?? [])].sort());
    });
  }

  it("the newest complete backup is kept whatever else is there (every keep, every age)", () => {
    const entries = [ok(D1), leftover(D2), ok(D3), bad(D9), link(D10)];
    for (const keep of [1, 2, 3, 10]) {
      for (const olderThanDays of [undefined, 0.001, 1, 100]) {
        const r = selectPrune(entries, { keep, olderThanDays, now: NOW });
        expect(r.kept.map((x) => x.id)).toContain(D3);
        expect(r.deleted.map((x) => x.id)).not.toContain(D3);
      }
    }
  });

  it("property: the newest complete backup (and the newest keep) stay, in any order, among any names", () => {
    const stamp = fc
      .record({
        day: fc.integer({ min: 1, max: 3 }),
        second: fc.integer({ min: 0, max: 1 }),
        n: fc.option(fc.integer({ min: 2, max: 4 }), { nil: undefined }),
      })
      .map(
        ({ day, second, n }) =>
          `202612${String(day).padStart(2, "0")}T00000${second}Z${n ? `-${n}` : ""}`,
      );
    const entry = fc.oneof(
      stamp.map(ok),
      stamp.map(leftover),
      stamp.map(bad),
      stamp.map(link),
      fc
        .tuple(stamp, fc.constantFrom("-copy", "-x", ".old", "-", "-1000"))
        .map(([id, tail]) => ok(`${id}${tail}`)),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(entry, { selector: (e) => e.name, maxLength: 14 }),
        fc.integer({ min: 1, max: 4 }),
        fc.option(fc.double({ min: 0.01, max: 20, noNaN: true }), { nil: undefined }),
        (entries, keep, olderThanDays) => {
          const complete = entries
            .filter(
              (e) => e.type === "dir" && typeof e.manifest === "object" && backupIdTime(e.name),
            )
            .map((e) => e.name)
            .sort(newestFirst);
          const r = selectPrune(entries, { keep, olderThanDays, now: NOW });
          const kept = new Set(r.kept.map((x) => x.id));
          for (const id of complete.slice(0, keep)) expect(kept.has(id), id).toBe(true);
          const deleted = new Set(r.deleted.map((x) => x.id));
          // Only Marina's: real directories named like ids, no invalid manifest.
          for (const e of entries.filter((x) => deleted.has(x.name))) {
            expect(e.type).toBe("dir");
            expect(e.manifest).not.toBe("invalid");
            expect(backupIdTime(e.name)).not.toBeNull();
          }
          expect(r.deleted.length + r.kept.length + r.skipped.length).toBe(entries.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("refuses a keep below 1", () => {
    expect(() => selectPrune([ok(D1)], { keep: 0, now: NOW })).toThrow(/at least 1/);
  });

  it("reads the time of an id; not a date or not an id: null", () => {
    expect(backupIdTime("20261205T154210Z-3")?.toISOString()).toBe("2026-12-05T15:42:10.000Z");
    expect(backupIdTime("20261332T000000Z")).toBeNull();
    expect(backupIdTime("../20261205T154210Z")).toBeNull();
    expect([D1, `${D1}-2`, D2].sort(newestFirst)).toEqual([D2, `${D1}-2`, D1]);
  });
});
