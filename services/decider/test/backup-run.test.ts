// runBackup and runRestore (backup/run.ts) over a fake agent and fake executors: what a
// failure leaves (an untouched server released, a touched one flagged, SQL threads still
// stopped keep the maintenance), the check again before the agent is asked, the re-point of
// a connection whose source cluster failed over meanwhile, and the wait for the agent.
import type { AgentAction, AgentResult, ExecResult, ExecStep } from "@marina/contracts";
import { errorBody } from "@marina/contracts";
import type { RestoreInput } from "@marina/decider-core";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { ClusterView, ProvisionDeps } from "../src/provision/context.js";
import { backupManifest, besideDeps, PRIMARIES } from "./beside-fixtures.js";
import { FakeBus } from "./fake-bus.js";

interface Fake {
  /** The agent's answer to take-backup / restore-backup. */
  agent: (a: AgentAction) => AgentResult;
  /** An executor step's answer (default: ok, `changed: true` for change-master). */
  exec: (cluster: string, step: ExecStep) => ExecResult;
  calls: { what: string; timeoutMs?: number }[];
}
const fake: Fake = { agent: () => ok({}), exec: () => step({}), calls: [] };

function ok(data: Record<string, unknown>): AgentResult {
  return { host: "h-db3", opId: "x", ok: true, durationMs: 1, data, error: null };
}
function agentFailed(phase: string | undefined, message: string): AgentResult {
  return {
    host: "h-db3",
    opId: "x",
    ok: false,
    durationMs: 1,
    data: phase ? { phase } : {},
    error: errorBody("TOOL_FAILED", message),
  };
}
function step(data: Record<string, unknown>, error: string | null = null): ExecResult {
  return {
    stepId: "s",
    ok: error === null,
    executor: "e",
    durationMs: 1,
    data,
    error: error === null ? null : errorBody("SQL_ERROR", error),
  };
}

vi.mock("../src/provision/context.js", async (orig) => ({
  ...(await orig<typeof import("../src/provision/context.js")>()),
  callAgent: async (
    _d: unknown,
    _c: string,
    _h: string,
    _id: string,
    a: AgentAction,
    timeoutMs: number,
  ) => {
    fake.calls.push({ what: `agent ${a.action}`, timeoutMs });
    return fake.agent(a);
  },
  execThrough: async (_d: unknown, _op: string, cluster: string, server: string, s: ExecStep) => {
    fake.calls.push({
      what: `${cluster}/${server} ${s.kind}${"connection" in s ? ` ${s.connection}` : ""}${"source" in s ? ` ${s.source}` : ""}`,
    });
    return fake.exec(cluster, s);
  },
}));

const { runBackup, runRestore, REPLY_MARGIN_MS } = await import("../src/backup/run.js");

const manifest = backupManifest();

/** Fake clusters with maintenance that set-/clear-maintenance change. */
function world(primaries: Record<string, string | null> = { ...PRIMARIES }) {
  const bus = new FakeBus();
  const base = besideDeps(bus, { led: ["p1", "p2", "p3"], primaries });
  const maintenance = new Map<string, string>();
  const views = new Map<string, ClusterView>();
  const d: ProvisionDeps = {
    ...base,
    cluster: (name) => {
      const v = base.cluster(name);
      if (!v) return undefined;
      if (!views.has(name)) {
        views.set(name, {
          ...v,
          maintenance: (s) => maintenance.get(`${name}/${s}`) ?? null,
          submit: async (verb, body) => {
            const { server, reason } = JSON.parse(body) as { server: string; reason: string };
            if (verb === "set-maintenance") maintenance.set(`${name}/${server}`, reason);
            else maintenance.delete(`${name}/${server}`);
            return { ok: true, verb, message: "" };
          },
        });
      }
      return views.get(name);
    },
  };
  const ends = () =>
    bus.published
      .map(
        (p) =>
          (
            p.data as {
              payload: { state: string; message: string; error: { code: string } | null };
            }
          ).payload,
      )
      .filter((e) => e.state !== "running");
  return { d, maintenance, ends };
}

const input = (over: Partial<RestoreInput> = {}): RestoreInput => ({
  server: "db3",
  home: "p1",
  host: "h-db3",
  manifest,
  clusters: {
    p1: { listsServer: true, primary: "db1" },
    p2: { listsServer: true, primary: "db2" },
  },
  primaries: { p1: "db1", p2: "db2" },
  verifyTimeoutMs: 30_000,
  limitMs: 3600_000,
  ...over,
});
const restoreRun = (d: ProvisionDeps, over: Partial<RestoreInput> = {}) =>
  runRestore(d, {
    opId: "restore-1",
    input: input(over),
    clusters: ["p1", "p2"],
    reason: "test",
    startedAt: 0,
  });
const backupRun = (d: ProvisionDeps) =>
  runBackup(d, {
    opId: "backup-1",
    home: "p1",
    server: "db3",
    host: "h-db3",
    clusters: ["p1", "p2"],
    action: { action: "take-backup", server: "db3", sources: [], limitMs: 7200_000 },
  });

beforeEach(() => {
  fake.calls = [];
  fake.agent = (a) => (a.action === "take-backup" ? ok({ manifest }) : ok({}));
  fake.exec = (_c, s) => step(s.kind === "change-master" ? { changed: false } : {});
});

const stepsRun = () => fake.calls.filter((c) => !c.what.startsWith("agent")).map((c) => c.what);

describe("runRestore", () => {
  it("a failure before the agent stopped the server: nothing flagged, this run's maintenance released", async () => {
    const w = world();
    fake.agent = () => agentFailed("guard", "datadir guard: not empty of strangers");
    await restoreRun(w.d);
    expect(stepsRun()).toEqual([]);
    expect(w.maintenance.size).toBe(0);
    expect(w.ends()[0]!.message).toMatch(/the agent at guard.*db3 was not changed/);
  });

  it("an untouched failure keeps the flag an earlier failed restore left", async () => {
    const w = world();
    w.maintenance.set("p1/db3", "restore restore-old");
    fake.agent = () => agentFailed("guard", "datadir guard");
    await restoreRun(w.d);
    expect([...w.maintenance]).toEqual([["p1/db3", "restore restore-old"]]);
  });

  it("a failure once the datadir was emptied: read-only tried, connections stopped, maintenance kept", async () => {
    const w = world();
    fake.agent = () => agentFailed("copy", "No space left on device");
    fake.exec = (_c, s) => step({}, s.kind === "set-read-only" ? "server is down" : null);
    await restoreRun(w.d);
    expect(stepsRun()).toEqual(["p1/db3 set-read-only"]);
    expect(w.maintenance.size).toBe(2);
    expect(w.ends()[0]!.message).toMatch(
      /the agent at copy.*left stopped \(its datadir marked as an unfinished restore/,
    );
  });

  it("checked again before the agent is asked: a failover that made db3 a primary refuses it, untouched", async () => {
    const w = world({ p1: "db3", p2: "db2" });
    await restoreRun(w.d);
    expect(fake.calls).toEqual([]);
    expect(w.ends()[0]!.message).toMatch(/db3 is the primary of p1 now.*db3 was not changed/);
    expect(w.maintenance.size).toBe(0);
  });

  it("waits for the agent beyond the limit its request carries", async () => {
    const w = world();
    await restoreRun(w.d);
    expect(fake.calls[0]).toEqual({
      what: "agent restore-backup",
      timeoutMs: 3600_000 + REPLY_MARGIN_MS,
    });
    expect(w.ends()[0]!.state).toBe("succeeded");
    expect(w.maintenance.size).toBe(0);
  });

  it("a re-check failing after the datadir was replaced is RESTORE_INCOMPLETE, not 'nothing was changed'", async () => {
    const w = world();
    const primaries = { ...PRIMARIES };
    fake.agent = () => {
      primaries.p2 = null as unknown as string;
      return ok({});
    };
    const d = {
      ...w.d,
      cluster: (n: string) => {
        const v = w.d.cluster(n);
        return v && { ...v, primary: () => primaries[n] ?? null };
      },
    };
    await restoreRun(d);
    expect(w.ends()[0]!.error?.code).toBe("RESTORE_INCOMPLETE");
    expect(w.maintenance.size).toBe(2);
  });
});

describe("runBackup", () => {
  it("threads still stopped (REPLICATION_STOPPED): the server stays in maintenance", async () => {
    const w = world();
    fake.agent = () => ({
      ...agentFailed("restore-replication", "still stopped: 'p1'"),
      error: errorBody("REPLICATION_STOPPED", "still stopped: 'p1'"),
    });
    await backupRun(w.d);
    expect(w.maintenance.size).toBe(2);
    expect(w.ends()[0]!.message).toMatch(/db3 stays in maintenance in p1, p2/);
  });

  it("maintenance refused in one cluster: what this run set elsewhere is released, the agent not asked", async () => {
    const w = world();
    const d: ProvisionDeps = {
      ...w.d,
      cluster: (n) => {
        const v = w.d.cluster(n);
        if (!v || n !== "p2") return v;
        return {
          ...v,
          submit: async (verb) => ({ ok: false, verb, error: errorBody("REFUSED", "no") }),
        };
      },
    };
    await backupRun(d);
    expect(fake.calls).toEqual([]);
    expect(w.maintenance.size).toBe(0);
    expect(w.ends()[0]!.message).toMatch(/maintenance in p2: no/);
  });

  it("another failure releases the maintenance; the wait covers the agent's limit", async () => {
    const w = world();
    fake.agent = () => agentFailed("backup", "mariadb-backup exited 1");
    await backupRun(w.d);
    expect(w.maintenance.size).toBe(0);
    expect(fake.calls[0]!.timeoutMs).toBe(7200_000 + REPLY_MARGIN_MS);
  });

  it("a source cluster that failed over meanwhile: its connection re-pointed before the maintenance is cleared", async () => {
    const w = world({ p1: "db1", p2: "db2b" });
    fake.exec = (c, s) => step(s.kind === "change-master" ? { changed: c === "p2" } : {});
    await backupRun(w.d);
    expect(stepsRun()).toEqual([
      "p1/db3 change-master p1 db1",
      "p2/db3 change-master p2 db2b",
      "p2/db3 set-replication-filter p2",
      "p2/db3 start-replication p2",
      "p2/db3 verify-replicating p2",
    ]);
    expect(w.ends()[0]!.state).toBe("succeeded");
    expect(w.maintenance.size).toBe(0);
  });

  it("a source cluster running an operation of its own past the wait: not re-pointed, kept in maintenance", async () => {
    const w = world();
    let t = 0;
    const d: ProvisionDeps = {
      ...w.d,
      now: () => {
        t += 20_000;
        return t;
      },
      cluster: (n) => {
        const v = w.d.cluster(n);
        return v && n === "p2" ? { ...v, operation: () => "failover-1" } : v;
      },
    };
    await backupRun(d);
    expect(stepsRun()).toEqual([]);
    expect(w.ends()[0]!.message).toMatch(/p2 still ran an operation after 30000 ms/);
    expect(w.maintenance.size).toBe(2);
  });

  it("a re-point that fails keeps the server in maintenance", async () => {
    const w = world({ p1: "db1", p2: null });
    await backupRun(w.d);
    expect(w.ends()[0]!.message).toMatch(/was kept, but .*cluster p2 has no known primary/);
    expect(w.maintenance.size).toBe(2);
  });
});
