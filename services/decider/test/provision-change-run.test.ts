// provision-replica mode add's failure after the copy (change-run.ts restartOthers): the
// attach paused the other connections' SQL threads, so the SQL threads that ran when the
// check read the target are started again, each tried, and the final event says which run
// — never "untouched". Over a fake bus whose "executor" answers start-replication.
import { type ExecRequest, envelope, type ProvisionFacts, subjects } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { type AddRun, restartOthers } from "../src/provision/change-run.js";
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

function setup(failFor: string[]) {
  const bus = new FakeBus();
  const started: string[] = [];
  bus.subscribe(subjects.exec("p1"), (m) => {
    const req = (JSON.parse(new TextDecoder().decode(m.data)) as { payload: ExecRequest }).payload;
    const step = req.step;
    const conn = step.kind === "start-replication" ? step.connection : "";
    started.push(`${step.kind} ${conn}`);
    const fail = failFor.includes(conn);
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
  return { d, run, started };
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
