// provision-replica mode add's failure after the copy (change-run.ts restartOthers): the
// attach paused the other connections' SQL threads, so the SQL threads that ran when the
// check read the target are started again, each tried, and the final event says which run
// — never "untouched". Over a fake bus whose "executor" answers start-replication.
import { type ExecRequest, envelope, type ProvisionFacts, subjects } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  type AddRun,
  type RemoveRun,
  restartOthers,
  runRemoveSource,
} from "../src/provision/change-run.js";
import { besideDeps } from "./beside-fixtures.js";
import { FakeBus } from "./fake-bus.js";

const targetFacts: ProvisionFacts = {
  logBin: true,
  binlogFormat: "ROW",
  serverId: 3,
  gtidDomainId: 0,
  gtidBinlogPos: "",
  gtidSlavePos: "1-1-10",
  readOnly: true,
  databases: ["app1"],
  nonInnodb: [],
  replicationAccount: true,
  connections: [
    { name: "p1", running: true, sqlRunning: true },
    { name: "px", running: true, sqlRunning: true },
    { name: "idle", running: false, sqlRunning: false },
  ],
};

function setup(failFor: string[], failKinds: string[] = []) {
  const bus = new FakeBus();
  const started: string[] = [];
  bus.subscribe(subjects.exec("p1"), (m) => {
    const req = (JSON.parse(new TextDecoder().decode(m.data)) as { payload: ExecRequest }).payload;
    const step = req.step;
    const conn = step.kind === "start-replication" ? step.connection : "";
    started.push(conn ? `${step.kind} ${conn}` : step.kind);
    const fail = failFor.includes(conn) || failKinds.includes(step.kind);
    m.respond(
      JSON.stringify(
        envelope("exec-result", "exec-1", {
          stepId: req.stepId,
          ok: !fail,
          executor: "exec-1",
          durationMs: 1,
          data: {},
          error: fail
            ? { code: "SQL_ERROR", message: "1200 misconfigured", retryable: false }
            : null,
        }),
      ),
    );
  });
  const d = besideDeps(bus, { led: ["p1", "p2"] });
  const run = {
    opId: "prov-1",
    reason: "add",
    startedAt: 0,
    sources: [],
    attached: [],
    clusters: ["p1", "p2"],
    targetFacts,
    plan: {
      target: "db3",
      home: "p1",
      targetHost: "h-db3",
      compression: { kind: "none" },
      verifyTimeoutMs: 0,
      addSource: true,
      sources: [
        { cluster: "p2", primary: "db2", host: "h-db2", databases: ["app2"], filtered: true },
      ],
    },
  } as unknown as AddRun;
  return { d, run, started, bus };
}

describe("an add that failed after the copy", () => {
  it("starts the SQL threads that ran before (not the idle one, not its own) and says so", async () => {
    const { d, run, started } = setup([]);
    expect(await restartOthers(d, run)).toBe("the other connections 'p1', 'px' running");
    expect(started).toEqual(["start-replication p1", "start-replication px"]);
  });

  it("tries every one when one fails, and names what is NOT running", async () => {
    const { d, run, started } = setup(["p1"]);
    const said = await restartOthers(d, run);
    expect(started).toEqual(["start-replication p1", "start-replication px"]);
    expect(said).toMatch(
      /NOT running: 'p1' \(1200 misconfigured\) — START SLAVE '<c>' on db3 by hand; 'px' running/,
    );
    expect(said).not.toMatch(/untouched/);
  });
});

describe("a remove that failed", () => {
  const remove = (): RemoveRun => ({
    opId: "prov-2",
    clusters: ["p1", "p2"],
    reason: "remove",
    startedAt: 0,
    notes: [],
    plan: {
      target: "db3",
      home: "p1",
      targetHost: "h-db3",
      cluster: "p2",
      domains: [2],
      drop: ["app2"],
    },
  });
  const finalMessage = (bus: FakeBus) =>
    bus.published
      .map((m) => (m.data as { payload?: { state?: string; message?: string } }).payload)
      .filter((e) => e?.state === "failed")
      .map((e) => String(e?.message))
      .join("\n");

  it("before RESET SLAVE: a re-run is the way (each step idempotent)", async () => {
    const { d, bus } = setup([], ["reset-replication"]);
    await runRemoveSource(d, remove());
    expect(finalMessage(bus)).toMatch(/run it again \(each step is idempotent\)/);
  });

  it("after RESET SLAVE: no re-run promised, what is left named", async () => {
    const { d, bus, started } = setup([], ["replace-gtid-domains"]);
    await runRemoveSource(d, remove());
    expect(started).toEqual(["reset-replication", "replace-gtid-domains"]);
    const said = finalMessage(bus);
    expect(said).not.toMatch(/idempotent/);
    expect(said).toMatch(
      /'p2' is removed already \(RESET SLAVE ran\), so a re-run would be refused: by hand, take domains 2 out of its gtid_slave_pos .*; drop app2 \(with sql_log_bin=0\); clear maintenance on db3 in p1, p2/,
    );
  });
});

describe("the operator's maintenance flag", () => {
  it.each([
    [
      "an operator's flag is left as it was: set and cleared only where the run set it",
      "operator: disk swap",
      ["set-maintenance p1", "clear-maintenance p1"],
    ],
    [
      "a flag an earlier failed run left is the run's own: set and cleared there too",
      "provision-replica prov-x-1",
      ["set-maintenance p1", "set-maintenance p2", "clear-maintenance p1", "clear-maintenance p2"],
    ],
  ])("%s", async (_what, p2Reason, expected) => {
    const { d } = setup([]);
    const submitted: string[] = [];
    const deps = {
      ...d,
      cluster: (name: string) => {
        const v = d.cluster(name);
        if (!v) return v;
        return {
          ...v,
          maintenance: () => (name === "p2" ? p2Reason : null),
          submit: async (verb: "set-maintenance" | "clear-maintenance") => {
            submitted.push(`${verb} ${name}`);
            return { ok: true as const, verb, message: "" };
          },
        };
      },
    };
    await runRemoveSource(deps, {
      opId: "prov-3",
      clusters: ["p1", "p2"],
      reason: "restart",
      startedAt: 0,
      notes: [],
      restart: true,
      plan: {
        target: "db3",
        home: "p1",
        targetHost: "h-db3",
        cluster: "p1",
        domains: [],
        drop: [],
      },
    });
    expect(submitted).toEqual(expected);
  });
});
