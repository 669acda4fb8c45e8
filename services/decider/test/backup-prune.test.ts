// prune-backups as the decider service takes it (backup/prune.ts): the request checked against
// the config, the leadership and the per-server lock, the agent asked what it would delete
// (a dry-run stops there), then to delete — on op.<opId> (kind prune) and, when something was
// deleted, BackupsPruned on the events subject. The "agent" is a fake on the bus.
import {
  type AgentRequest,
  AgentRequestMessage,
  type BackupPruneResult,
  ClusterEventMessage,
  type CommandReply,
  type ErrorBody,
  envelope,
  errorBody,
  OperationMessage,
} from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { type BackupCommand, backupHandler } from "../src/backup/command.js";
import { besideDeps, backupManifest as manifest } from "./beside-fixtures.js";
import { FakeBus } from "./fake-bus.js";

const entry = (id: string, complete = true) => ({
  id,
  complete,
  startedAt: null,
  bytes: 1000,
  why: "test",
});

const RESULT = (dryRun: boolean): BackupPruneResult => ({
  server: "db3",
  dryRun,
  deleted: [entry("20261201T000000Z"), entry("20261202T000000Z", false)],
  kept: [entry("20261205T154210Z")],
  skipped: [],
  bytesFreed: 2000,
});

interface World {
  prune: ErrorBody | null;
  /** The deletion's error, the dry-run answering as usual. */
  failReal?: ErrorBody;
  agentCluster: string;
  led: readonly string[];
  maintenance?: Record<string, string>;
  operations?: Record<string, string>;
}

function handler(over: Partial<World> = {}) {
  const w: World = { prune: null, agentCluster: "p1", led: ["p1", "p2", "p3"], ...over };
  const bus = new FakeBus();
  const asked: AgentRequest[] = [];
  const answer = (req: AgentRequest, ok: boolean, data: object, error: ErrorBody | null) =>
    JSON.stringify(
      envelope("agent-result", req.host, {
        host: req.host,
        opId: req.opId,
        ok,
        durationMs: 1,
        data: { ...data },
        error,
      }),
    );
  bus.subscribe("marina.v1.agent.*.*", (m) => {
    const req = (JSON.parse(new TextDecoder().decode(m.data)) as { payload: AgentRequest }).payload;
    AgentRequestMessage.parse(envelope("agent-request", "test", req));
    asked.push(req);
    const r = req.request;
    if (r.action === "list-backups") {
      const data = { action: r.action, server: r.server, cluster: w.agentCluster };
      m.respond(answer(req, true, { ...data, backups: [manifest()] }, null));
    } else if (r.action === "prune-backups") {
      const error = w.prune ?? (r.dryRun ? null : (w.failReal ?? null));
      m.respond(
        error
          ? answer(req, false, { action: r.action }, error)
          : answer(req, true, { action: r.action, cluster: "p1", ...RESULT(r.dryRun) }, null),
      );
    }
  });
  const d = besideDeps(bus, w);
  const handle = backupHandler(d);
  return { bus, d, asked, handle: (c: BackupCommand, home = "p1") => handle(home, c) };
}

const refusal = (r: CommandReply) => (r.ok ? r.dryRun?.error : r.error);
const prune = (payload: Record<string, unknown>): BackupCommand =>
  ({ verb: "prune-backups", payload: { server: "db3", keep: 1, ...payload } }) as BackupCommand;
const settle = () => new Promise((r) => setTimeout(r, 20));

describe("prune-backups", () => {
  it("a dry-run: what the agent would delete now, the call it would send; nothing deleted", async () => {
    const w = handler();
    const r = await w.handle(prune({ keep: 2, olderThanDays: 30, dryRun: true }));
    expect(r.ok && r.dryRun?.outcome).toBe("accepted");
    expect(r.ok && r.data?.deleted).toEqual(RESULT(true).deleted);
    const call = r.ok ? r.dryRun?.operation?.phases[0]?.agentCalls[0] : undefined;
    expect(call?.host).toBe("h-db3");
    expect(call?.action).toEqual({
      action: "prune-backups",
      server: "db3",
      keep: 2,
      olderThanDays: 30,
      dryRun: false,
    });
    expect(r.ok && r.dryRun?.message).toMatch(/would delete 2 backup\(s\) of db3/);
    expect(r.ok && r.dryRun?.events.map((e) => e.situation)).toEqual(["BackupsPruned"]);
    // Only asked, with dryRun: never told to delete.
    const prunes = w.asked.filter((a) => a.request.action === "prune-backups");
    expect(prunes.map((a) => a.request.action === "prune-backups" && a.request.dryRun)).toEqual([
      true,
    ]);
    expect(w.d.busy.size).toBe(0);
  });

  it("for real: answers what it deletes, then the agent deletes; op events and BackupsPruned", async () => {
    const w = handler();
    const r = await w.handle(prune({}));
    expect(r.ok).toBe(true);
    expect(r.ok && r.opId).toMatch(/^prune-/);
    expect(r.ok && r.message).toMatch(/pruning on h-db3: deleting 2 backup/);
    await settle();
    expect(w.d.busy.size).toBe(0);
    const prunes = w.asked.filter((a) => a.request.action === "prune-backups");
    expect(prunes.map((a) => a.request.action === "prune-backups" && a.request.dryRun)).toEqual([
      true,
      false,
    ]);
    // Fenced by the epoch of the cluster the agent files db3 under.
    expect(prunes.every((a) => a.epoch === 1)).toBe(true);
    const ops = w.bus.published
      .filter((p) => p.subject.startsWith("marina.v1.p1.op."))
      .map((p) => OperationMessage.parse(p.data).payload);
    expect(ops.map((o) => [o.kind, o.state])).toEqual([
      ["prune", "running"],
      ["prune", "succeeded"],
    ]);
    expect(ops[1]?.message).toMatch(
      /^deleted 2 backup\(s\) of db3 \(20261201T000000Z, 20261202T000000Z\), 0\.0 MB; kept 1/,
    );
    const events = w.bus.published
      .filter((p) => p.subject === "marina.v1.p1.events")
      .map((p) => ClusterEventMessage.parse(p.data).payload);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      situation: "BackupsPruned",
      server: "db3",
      details: {
        host: "h-db3",
        keep: 1,
        deleted: "20261201T000000Z,20261202T000000Z",
        kept: "20261205T154210Z",
        bytesFreed: 2000,
      },
    });
  });

  it("the agent's refusal (busy, no backupDir) is the command's; nothing published", async () => {
    const w = handler({
      prune: errorBody("OPERATION_IN_PROGRESS", "db3 is busy with take-backup"),
    });
    const r = await w.handle(prune({}));
    expect(r.ok).toBe(false);
    expect(refusal(r)?.code).toBe("OPERATION_IN_PROGRESS");
    const dry = await w.handle(prune({ dryRun: true }));
    expect(dry.ok && dry.dryRun?.outcome).toBe("refused");
    expect(w.bus.published.filter((p) => !p.subject.startsWith("marina.v1.agent"))).toEqual([]);
    expect(w.d.busy.size).toBe(0);
  });

  it("a failure of the deletion itself fails the operation; no BackupsPruned", async () => {
    const w = handler({ failReal: errorBody("TOOL_FAILED", "EACCES: permission denied") });
    const r = await w.handle(prune({}));
    expect(r.ok).toBe(true);
    await settle();
    const ops = w.bus.published
      .filter((p) => p.subject.startsWith("marina.v1.p1.op."))
      .map((p) => OperationMessage.parse(p.data).payload);
    expect(ops.at(-1)).toMatchObject({ state: "failed", error: { code: "TOOL_FAILED" } });
    expect(ops.at(-1)?.message).toMatch(/failed: EACCES/);
    expect(w.bus.published.some((p) => p.subject.endsWith(".events"))).toBe(false);
    expect(w.d.busy.size).toBe(0);
  });

  it.each([
    [
      "an unknown server",
      { server: "db9" },
      {},
      "UNKNOWN_SERVER",
      /db9 is not a server of cluster p1/,
    ],
    [
      "sent to a cluster its agent does not file it under",
      {},
      { agentCluster: "p2" },
      "NOT_APPLICABLE",
      /files it under cluster p2: send prune-backups to p2/,
    ],
    ["a cluster listing it not led here", {}, { led: ["p1"] }, "NOT_LEADER", /does not lead p2/],
    [
      "an operation of a cluster listing it",
      {},
      { operations: { p2: "failover-1" } },
      "OPERATION_IN_PROGRESS",
      /p2: failover-1/,
    ],
    [
      "an earlier backup's maintenance on it (it may still run, or need its backups)",
      {},
      { maintenance: { "p1/db3": "backup backup-abc-1" } },
      "OPERATION_IN_PROGRESS",
      /in maintenance in p1 for backup backup-abc-1/,
    ],
    [
      "a failed restore's maintenance",
      {},
      { maintenance: { "p2/db3": "restore restore-abc-1" } },
      "OPERATION_IN_PROGRESS",
      /for restore restore-abc-1/,
    ],
  ] as const)(
    "refuses %s, asking the agent nothing destructive",
    async (_w, p, over, code, msg) => {
      const w = handler(over as Partial<World>);
      const r = await w.handle(prune(p));
      expect(refusal(r)?.code).toBe(code);
      expect(refusal(r)?.message).toMatch(msg);
      expect(w.asked.some((a) => a.request.action === "prune-backups")).toBe(false);
    },
  );

  it("refused while a backup or restore of the server runs here; the lock is shared", async () => {
    for (const running of ["backup", "restore-backup", "provision-replica"]) {
      const w = handler();
      w.d.busy.set("db3", running);
      const r = await w.handle(prune({}));
      expect(refusal(r)?.code).toBe("OPERATION_IN_PROGRESS");
      expect(refusal(r)?.message).toMatch(new RegExp(`db3: ${running} runs on it now`));
      expect(w.d.busy.get("db3")).toBe(running);
      expect(w.asked).toEqual([]);
    }
  });

  it("holds the lock until the deletion ended: a backup meanwhile is refused", async () => {
    const w = handler();
    const r = await w.handle(prune({}));
    expect(r.ok).toBe(true);
    // The deletion runs in the background: the lock is still held right after the reply.
    expect(w.d.busy.get("db3")).toBe("prune-backups");
    const b = await w.handle({ verb: "backup", payload: { server: "db3" } });
    expect(refusal(b)?.message).toMatch(/db3: prune-backups runs on it now/);
    await settle();
    expect(w.d.busy.size).toBe(0);
  });
});
