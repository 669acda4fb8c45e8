// prune-backups' pure parts (backup/prune.ts): the summary, the dry-run report and the
// BackupsPruned event, each valid against its schema.
import { type BackupPruneResult, ClusterEvent, DryRunReport } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  backupsPrunedEvent,
  type PruneAction,
  pruneAcceptedReport,
  pruneSummary,
} from "../src/index.js";
import { makeConfig } from "./helpers.js";

const entry = (id: string, complete: boolean, bytes: number) => ({
  id,
  complete,
  startedAt: null,
  bytes,
  why: "test",
});

const result = (over: Partial<BackupPruneResult> = {}): BackupPruneResult => ({
  server: "db3",
  dryRun: true,
  deleted: [entry("20261202T000000Z", true, 3 * 1048576), entry("20261201T000000Z", false, 0)],
  kept: [entry("20261203T000000Z", true, 1048576)],
  skipped: [entry("notes", false, 0)],
  bytesFreed: 3 * 1048576,
  ...over,
});

const action: PruneAction = {
  action: "prune-backups",
  server: "db3",
  keep: 1,
  olderThanDays: 30,
  dryRun: false,
};

describe("prune-backups, pure parts", () => {
  it.each([
    [
      "would",
      result(),
      "would delete 2 backup(s) of db3 (20261202T000000Z, 20261201T000000Z), 3.0 MB; would keep 1 (20261203T000000Z); left alone 1 (notes)",
    ],
    [
      "done",
      result({ deleted: [], skipped: [], bytesFreed: 0 }),
      "deleted 0 backup(s) of db3 (none), 0.0 MB; kept 1 (20261203T000000Z)",
    ],
    [
      "now",
      result({ skipped: [] }),
      "deleting 2 backup(s) of db3 (20261202T000000Z, 20261201T000000Z), 3.0 MB; keeping 1 (20261203T000000Z)",
    ],
  ] as const)("summary (%s)", (tense, r, text) => {
    expect(pruneSummary(r, tense)).toBe(text);
  });

  it("the dry-run report: the one call it would send, BackupsPruned only when something goes", () => {
    const report = DryRunReport.parse(
      pruneAcceptedReport("h-db3", action, result(), "retention", () => makeConfig()),
    );
    expect(report.operation?.kind).toBe("prune");
    expect(report.operation?.phases[0]?.agentCalls.map((c) => [c.host, c.action])).toEqual([
      ["h-db3", action],
    ]);
    expect(report.operation?.phases[0]?.agentCalls[0]?.programs[0]).toMatch(
      /rm -r <backupDir>\/db3\/<id> .* older than 30 day\(s\) \(no symlink followed\)/,
    );
    expect(report.events.map((e) => e.situation)).toEqual(["BackupsPruned"]);
    const none = pruneAcceptedReport(
      "h-db3",
      action,
      result({ deleted: [], bytesFreed: 0 }),
      "retention",
      () => makeConfig(),
    );
    expect(none.events).toEqual([]);
  });

  it("hundreds of backups: the summary names the first few, the dry-run report stays valid", () => {
    const many = (n: number, day: number) =>
      Array.from({ length: n }, (_, i) =>
        entry(`202612${String(day).padStart(2, "0")}T${String(i).padStart(6, "0")}Z`, true, 1),
      );
    const r = result({ deleted: many(500, 1), kept: many(300, 2), skipped: many(200, 3) });
    const text = pruneSummary(r, "would");
    expect(text).toMatch(
      /^would delete 500 backup\(s\) of db3 \(20261201T000000Z, .*, … and 492 more\)/,
    );
    expect(text).toMatch(
      /would keep 300 \(.*… and 292 more\); left alone 200 \(.*… and 192 more\)$/,
    );
    expect(text.length).toBeLessThan(4096);
    const report = DryRunReport.safeParse(
      pruneAcceptedReport("h-db3", action, r, "retention", () => makeConfig()),
    );
    expect(report.success, JSON.stringify(report.error?.issues[0])).toBe(true);
    expect(
      ClusterEvent.safeParse(backupsPrunedEvent("main", 1, "op-1", "h-db3", action, r)).success,
    ).toBe(true);
  });

  it("the BackupsPruned event names what went, what stayed, the bytes and the rule", () => {
    const ev = ClusterEvent.parse(
      backupsPrunedEvent("p1", 7, "prune-x-1", "h-db3", action, result({ dryRun: false })),
    );
    expect(ev).toMatchObject({
      cluster: "p1",
      situation: "BackupsPruned",
      actionable: false,
      server: "db3",
      epoch: 7,
      details: {
        opId: "prune-x-1",
        host: "h-db3",
        keep: 1,
        olderThanDays: 30,
        deleted: "20261202T000000Z,20261201T000000Z",
        kept: "20261203T000000Z",
        bytesFreed: 3 * 1048576,
      },
    });
    expect(ev.reason).toMatch(/^deleted 2 backup\(s\) of db3 .* on h-db3$/);
  });
});
