// backup, backups and restore-backup as the decider service takes them (backup/command.ts):
// the request against the config and the leadership, the manifests the agent lists, then the
// dry-run or the refusal — over a fake bus whose "agent" answers list-backups. Nothing here
// runs a backup or a restore (dry-runs, listings and refusals only).
import {
  type AgentRequest,
  AgentRequestMessage,
  type BackupManifest,
  type CommandReply,
  type ErrorBody,
  envelope,
  errorBody,
} from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { type BackupCommand, backupHandler } from "../src/backup/command.js";
import { provisionHandler } from "../src/provision/command.js";
import {
  besideDeps,
  BACKUP_ID as ID,
  backupManifest as manifest,
  PRIMARIES,
} from "./beside-fixtures.js";
import { FakeBus } from "./fake-bus.js";

interface World {
  /** What the agent answers to list-backups: the manifests, or an error. */
  agent: BackupManifest[] | ErrorBody;
  agentCluster: string;
  led: readonly string[];
  primaries: Record<string, string | null>;
}

function handler(over: Partial<World> = {}) {
  const w: World = {
    agent: [manifest()],
    agentCluster: "p1",
    led: ["p1", "p2", "p3"],
    primaries: PRIMARIES,
    ...over,
  };
  const bus = new FakeBus();
  bus.subscribe("marina.v1.agent.*.list-backups", (m) => {
    const req = (JSON.parse(new TextDecoder().decode(m.data)) as { payload: AgentRequest }).payload;
    AgentRequestMessage.parse(envelope("agent-request", "test", req));
    if (req.request.action !== "list-backups") return;
    const id = req.request.id;
    const found = Array.isArray(w.agent) ? w.agent.filter((b) => !id || b.id === id) : w.agent;
    const error = !Array.isArray(found)
      ? found
      : id && found.length === 0
        ? errorBody("BACKUP_NOT_FOUND", `no ${id}`)
        : null;
    m.respond(
      JSON.stringify(
        envelope("agent-result", req.host, {
          host: req.host,
          opId: req.opId,
          ok: error === null,
          durationMs: 1,
          data: error
            ? {}
            : {
                action: "list-backups",
                server: req.request.server,
                cluster: w.agentCluster,
                backups: found,
              },
          error,
        }),
      ),
    );
  });
  const handle = backupHandler(besideDeps(bus, w));
  return { bus, handle: (c: BackupCommand, home = "p1") => handle(home, c) };
}

const refusal = (r: CommandReply) => (r.ok ? r.dryRun?.error : r.error);

describe("backups", () => {
  it("lists the server's manifests from its agent", async () => {
    const r = await handler().handle({ verb: "backups", payload: { server: "db3" } });
    expect(r.ok).toBe(true);
    expect(r.ok && ((r.data?.backups ?? []) as BackupManifest[]).map((b) => b.id)).toEqual([ID]);
  });

  it("without a server: every server of the cluster, naming those whose agent did not answer", async () => {
    const { handle } = handler({ agent: errorBody("NOT_APPLICABLE", "no backupDir") });
    const r = await handle({ verb: "backups", payload: {} });
    expect(r.ok).toBe(true);
    expect(r.ok && r.data?.unread).toEqual(["db1: no backupDir", "db3: no backupDir"]);
  });

  it("an unknown server, or an agent without backupDir for the one asked, is refused", async () => {
    expect(
      refusal(await handler().handle({ verb: "backups", payload: { server: "db9" } }))?.code,
    ).toBe("UNKNOWN_SERVER");
    const { handle } = handler({
      agent: errorBody("NOT_APPLICABLE", "agent h-db3 has no backupDir"),
    });
    expect(refusal(await handle({ verb: "backups", payload: { server: "db3" } }))?.message).toMatch(
      /has no backupDir/,
    );
  });
});

describe("backup", () => {
  it("a dry-run: one take-backup call naming every server of the clusters that list db3", async () => {
    const r = await handler().handle({ verb: "backup", payload: { server: "db3", dryRun: true } });
    const call = r.ok ? r.dryRun?.operation?.phases[0]?.agentCalls[0] : undefined;
    expect(call?.host).toBe("h-db3");
    const action = call?.action;
    expect(action?.action).toBe("take-backup");
    if (action?.action !== "take-backup") return;
    // The agent keeps to the limit its request carries; the decider waits for it (and more).
    expect(action.limitMs).toBe(6 * 3600_000);
    expect(action.sources.map((s) => `${s.cluster}/${s.server}@${s.port}`)).toEqual([
      "p1/db1@3301",
      "p1/db3@3303",
      "p2/db2@3302",
      "p2/db3@3303",
    ]);
  });

  it.each([
    [
      "sent to a cluster its agent does not file it under",
      {},
      "p2",
      "NOT_APPLICABLE",
      /files it under cluster p1: send backup to p1/,
    ],
    ["a cluster listing it not led here", { led: ["p1"] }, "p1", "NOT_LEADER", /does not lead p2/],
    [
      "a primary of a cluster listing it",
      { primaries: { p1: "db1", p2: "db3" } },
      "p1",
      "REFUSED",
      /db3 is the primary of p2: back up a replica/,
    ],
  ] as const)("refuses %s", async (_what, w, home, code, message) => {
    const r = await handler(w as Partial<World>).handle(
      { verb: "backup", payload: { server: "db3", dryRun: true } },
      home,
    );
    expect(refusal(r)?.code).toBe(code);
    expect(refusal(r)?.message).toMatch(message);
  });
});

describe("restore-backup", () => {
  const restore = (over: Partial<World> = {}, backup = ID) =>
    handler(over).handle({
      verb: "restore-backup",
      payload: { server: "db3", backup, dryRun: true },
    });

  it("a dry-run: the restore, then the attach to each cluster's primary now", async () => {
    const r = await restore({ primaries: { p1: "db1", p2: "db3x" } });
    // db3x is not a configured server: the plan still names it; the step's executor resolves it.
    const attach = r.ok ? r.dryRun?.operation?.phases[1] : undefined;
    expect(r.ok && r.dryRun?.outcome).toBe("accepted");
    expect(attach?.steps.filter((s) => s.step.kind === "change-master").map((s) => s.step)).toEqual(
      [
        { kind: "change-master", connection: "p1", source: "db1", useGtid: "slave_pos" },
        { kind: "change-master", connection: "p2", source: "db3x", useGtid: "slave_pos" },
      ],
    );
  });

  it.each([
    [
      "an id the agent does not have",
      {},
      "20000101T000000Z",
      "BACKUP_NOT_FOUND",
      /no 20000101T000000Z/,
    ],
    [
      "a source cluster without a primary",
      { primaries: { p1: "db1", p2: null } },
      ID,
      "RESTORE_CHECK_FAILED",
      /cluster p2 has no known primary/,
    ],
    [
      "a connection following a cluster that does not list db3",
      { agent: [manifest({ connections: [{ ...manifest().connections[0]!, cluster: "p3" }] })] },
      ID,
      "RESTORE_CHECK_FAILED",
      /follows cluster p3, which is not configured here or does not list db3/,
    ],
    ["a source cluster not led here", { led: ["p1"] }, ID, "NOT_LEADER", /does not lead p2/],
    [
      "the primary of its home cluster",
      { primaries: { p1: "db3", p2: "db2" } },
      ID,
      "RESTORE_CHECK_FAILED",
      /db3 is the primary of p1 now/,
    ],
    [
      "a primary, from a manifest without connections",
      { primaries: { p1: "db3", p2: "db2" }, agent: [manifest({ connections: [] })] },
      ID,
      "RESTORE_CHECK_FAILED",
      /db3 is the primary of p1 now/,
    ],
  ] as const)("refuses %s", async (_what, w, id, code, message) => {
    const r = await restore(w as Partial<World>, id);
    expect(refusal(r)?.code).toBe(code);
    expect(refusal(r)?.message).toMatch(message);
  });

  it("a refusal without dryRun is an error reply; only list-backups was asked of the agent", async () => {
    const { bus, handle } = handler({ primaries: { p1: null, p2: "db2" } });
    const r = await handle({ verb: "restore-backup", payload: { server: "db3", backup: ID } });
    expect(r.ok).toBe(false);
    expect(refusal(r)?.code).toBe("RESTORE_CHECK_FAILED");
    expect(bus.requests.map((x) => x.subject.split(".").pop())).toEqual(["list-backups"]);
  });
});

describe("one operation beside the cores per server", () => {
  const world = (maintenance: Record<string, string> = {}) => {
    const d = besideDeps(new FakeBus(), { led: ["p1", "p2", "p3"], maintenance });
    return { d, backup: backupHandler(d), provision: provisionHandler(d) };
  };

  it("a backup or restore of a server that provision-replica runs on here is refused", async () => {
    const w = world();
    w.d.busy.set("db3", "provision-replica");
    const r = await w.backup("p1", { verb: "backup", payload: { server: "db3" } });
    expect(refusal(r)?.code).toBe("OPERATION_IN_PROGRESS");
    expect(refusal(r)?.message).toMatch(/db3: provision-replica runs on it now/);
    expect(w.d.busy.get("db3")).toBe("provision-replica");
  });

  it("a provision of a server a backup runs on here is refused", async () => {
    const w = world();
    w.d.busy.set("db3", "backup");
    const r = await w.provision("p1", {
      target: "db3",
      sources: [{ cluster: "p1" }],
    } as unknown as Parameters<typeof w.provision>[1]);
    expect(refusal(r)?.code).toBe("OPERATION_IN_PROGRESS");
    expect(refusal(r)?.message).toMatch(/db3: backup runs on it now/);
  });

  it("another family's maintenance reason on the server refuses it (an earlier leader's run)", async () => {
    const w = world({ "p2/db3": "provision-replica prov-abc-1" });
    const r = await w.backup("p1", {
      verb: "restore-backup",
      payload: { server: "db3", backup: ID },
    });
    expect(refusal(r)?.code).toBe("OPERATION_IN_PROGRESS");
    expect(refusal(r)?.message).toMatch(/in maintenance in p2 for provision-replica prov-abc-1/);
    const w2 = world({ "p1/db3": "restore restore-abc-1" });
    const p = await w2.provision("p1", {
      target: "db3",
      sources: [{ cluster: "p1" }],
    } as unknown as Parameters<typeof w2.provision>[1]);
    expect(refusal(p)?.message).toMatch(/in maintenance in p1 for restore restore-abc-1/);
  });

  it("every provision-replica mode takes the same lock; an add-source's maintenance refuses a backup", async () => {
    const w = world({ "p1/db3": "add-source prov-abc-2" });
    const b = await w.backup("p1", { verb: "backup", payload: { server: "db3" } });
    expect(refusal(b)?.message).toMatch(/for add-source prov-abc-2/);
    w.d.busy.set("db3", "restore-backup");
    const r = await w.provision("p1", {
      target: "db3",
      sources: [{ cluster: "p2" }],
      mode: "restart",
    } as unknown as Parameters<typeof w.provision>[1]);
    expect(refusal(r)?.message).toMatch(/db3: restore-backup runs on it now/);
  });
});
