// provision-replica as the decider service takes it (provision/command.ts): the request
// against the config and the leadership, then the agents' facts, then the dry-run — over a
// fake bus whose "agents" answer provision-facts. Nothing here runs a copy (dry-runs only,
// and refusals).
import {
  type AgentRequest,
  AgentRequestMessage,
  type CommandReply,
  envelope,
  type ProvisionFacts,
} from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { provisionHandler } from "../src/provision/command.js";
import { besideDeps } from "./beside-fixtures.js";
import { FakeBus } from "./fake-bus.js";

function facts(over: Partial<ProvisionFacts>): ProvisionFacts {
  return {
    logBin: true,
    binlogFormat: "ROW",
    serverId: 1,
    gtidDomainId: 1,
    gtidBinlogPos: "1-1-10",
    readOnly: false,
    databases: [],
    nonInnodb: [],
    replicationAccount: true,
    connections: [],
    ...over,
  };
}

interface World {
  facts: Record<string, ProvisionFacts>;
  /** The cluster each server's agent files it under. */
  agentCluster: Record<string, string>;
  led: string[];
  operations: Record<string, string>;
}

function world(over: Partial<World> = {}): World {
  return {
    facts: {
      db1: facts({ databases: ["app1"] }),
      db2: facts({ serverId: 2, gtidDomainId: 2, gtidBinlogPos: "2-2-5", databases: ["app2"] }),
      db3: facts({ serverId: 3, gtidDomainId: 0, gtidBinlogPos: "", readOnly: true }),
    },
    agentCluster: { db1: "p1", db2: "p2", db3: "p1" },
    led: ["p1", "p2", "p3"],
    operations: {},
    ...over,
  };
}

function handler(w: World) {
  const bus = new FakeBus();
  bus.subscribe("marina.v1.agent.*.provision-facts", (m) => {
    const req = (JSON.parse(new TextDecoder().decode(m.data)) as { payload: AgentRequest }).payload;
    AgentRequestMessage.parse(envelope("agent-request", "test", req));
    if (req.request.action !== "provision-facts") return;
    const name = req.request.server;
    m.respond(
      JSON.stringify(
        envelope("agent-result", req.host, {
          host: req.host,
          opId: req.opId,
          ok: true,
          durationMs: 1,
          data: {
            action: "provision-facts",
            server: name,
            cluster: w.agentCluster[name],
            ...w.facts[name]!,
          },
          error: null,
        }),
      ),
    );
  });
  const handle = provisionHandler(besideDeps(bus, w));
  return { bus, handle };
}

const payload = (over: Record<string, unknown> = {}) => ({
  target: "db3",
  sources: [
    { cluster: "p1", databases: ["app1"] },
    { cluster: "p2", databases: ["app2"] },
  ],
  overwrite: false,
  compression: { kind: "none" as const },
  dryRun: true,
  ...over,
});

type Case = {
  what: string;
  world?: Partial<World>;
  payload?: Record<string, unknown>;
  home?: string;
  code: string | null;
  message?: RegExp;
};

const cases: Case[] = [
  { what: "fit: a dry-run with every phase", code: null },
  {
    what: "a target its cluster does not list",
    payload: { target: "db9" },
    code: "UNKNOWN_SERVER",
    message: /db9 is not a server of cluster p1/,
  },
  {
    what: "a source cluster that does not list the target",
    payload: { sources: [{ cluster: "p1" }, { cluster: "p3" }] },
    code: "NOT_APPLICABLE",
    message: /db3 is not listed in cluster p3: add it to that cluster's servers/,
  },
  {
    what: "an unknown source cluster",
    payload: { sources: [{ cluster: "nope" }] },
    code: "UNKNOWN_CLUSTER",
  },
  {
    what: "a source cluster this decider does not lead",
    world: { led: ["p1"] },
    code: "NOT_LEADER",
    message: /does not lead p2/,
  },
  {
    what: "an operation running in a source cluster",
    world: { operations: { p2: "op-1" } },
    code: "OPERATION_IN_PROGRESS",
    message: /p2: op-1/,
  },
  {
    what: "sent to a cluster other than the target agent's",
    home: "p2",
    code: "NOT_APPLICABLE",
    message: /files it under cluster p1: send provision-replica to p1/,
  },
  {
    what: "colliding domains, a MyISAM table and a non-empty target: all named at once",
    world: {
      facts: {
        ...world().facts,
        db2: facts({
          serverId: 2,
          gtidDomainId: 1,
          databases: ["app2"],
          nonInnodb: [{ table: "app2.log", engine: "Aria" }],
        }),
        db3: facts({ serverId: 3, gtidDomainId: 0, databases: ["old"], readOnly: true }),
      },
    },
    code: "PROVISION_CHECK_FAILED",
    message: /app2\.log \(Aria\) not InnoDB.*both write in gtid_domain_id 1.*db3 is not empty/,
  },
];

describe("provision-replica in the decider service", () => {
  for (const c of cases) {
    it(c.what, async () => {
      const w = world(c.world);
      const { handle } = handler(w);
      const p = payload(c.payload);
      const reply: CommandReply = await handle(c.home ?? "p1", p as never);
      expect(reply.ok, JSON.stringify(reply)).toBe(true);
      if (!reply.ok) return;
      const report = reply.dryRun!;
      if (c.code === null) {
        expect(report.outcome).toBe("accepted");
        expect(report.operation?.phases.map((ph) => ph.name)).toEqual([
          "prepare",
          "copy:p1",
          "copy:p2",
          "attach",
        ]);
        const attach = report.operation!.phases[3]!;
        expect(attach.steps.find((s) => s.key === "pos")?.step).toEqual({
          kind: "set-gtid-slave-pos",
          pos: "1-1-10,2-2-5",
        });
        return;
      }
      expect(report.outcome).toBe("refused");
      expect(report.error?.code).toBe(c.code);
      if (c.message) expect(report.error?.message).toMatch(c.message);
    });
  }

  it("a refusal without dryRun is an error reply, and nothing was asked of an agent but facts", async () => {
    const w = world({
      facts: { ...world().facts, db1: facts({ logBin: false, databases: ["app1"] }) },
    });
    const { bus, handle } = handler(w);
    const reply = await handle("p1", payload({ dryRun: false }) as never);
    expect(reply.ok).toBe(false);
    if (!reply.ok) {
      expect(reply.error.code).toBe("PROVISION_CHECK_FAILED");
      expect(reply.error.message).toMatch(/db1 \(primary of p1\) has no binary log/);
    }
    expect(bus.requests.map((r) => r.subject.split(".").pop())).toEqual([
      "provision-facts",
      "provision-facts",
      "provision-facts",
    ]);
  });
});

describe("provision-replica mode add / remove / restart in the decider service", () => {
  // db3 replicates p1 already (its filter app1.%): p2 is the source added, or the one removed.
  const attachedToP1 = (over: Partial<World> = {}) =>
    world({
      facts: {
        ...world().facts,
        db3: facts({
          serverId: 3,
          gtidDomainId: 0,
          readOnly: true,
          databases: ["app1"],
          connections: [{ name: "p1", running: true, wildDoTable: "app1.%" }],
        }),
      },
      ...over,
    });
  const one = (mode: string, over: Record<string, unknown> = {}) =>
    payload({ mode, sources: [{ cluster: "p2", databases: ["app2"] }], ...over });

  it.each([
    [
      "add: two sources at once",
      attachedToP1(),
      one("add", { sources: [{ cluster: "p1" }, { cluster: "p2" }] }),
      "VALIDATION_FAILED",
      /exactly one source/,
    ],
    [
      "add: overwrite",
      attachedToP1(),
      one("add", { overwrite: true }),
      "VALIDATION_FAILED",
      /never overwrites/,
    ],
    [
      "add: p2 writes the domain p1 writes",
      attachedToP1({
        facts: {
          ...attachedToP1().facts,
          db2: facts({ serverId: 2, gtidDomainId: 1, databases: ["app2"] }),
        },
      }),
      one("add"),
      "PROVISION_CHECK_FAILED",
      /db1 \(p1\) and db2 \(p2\) both write in gtid_domain_id 1/,
    ],
    [
      "add: a target replicating nothing",
      world(),
      one("add"),
      "PROVISION_CHECK_FAILED",
      /replicates nothing yet/,
    ],
    [
      "remove: a connection not there",
      attachedToP1(),
      one("remove", { sources: [{ cluster: "p2" }] }),
      "PROVISION_CHECK_FAILED",
      /no connection 'p2'/,
    ],
    [
      "restart: a connection not there",
      attachedToP1(),
      one("restart", { sources: [{ cluster: "p2" }] }),
      "PROVISION_CHECK_FAILED",
      /no connection 'p2'/,
    ],
  ] as const)("refuses %s", async (_what, w, p, code, message) => {
    const { handle } = handler(w);
    const reply = await handle("p1", p as never);
    const report = reply.ok ? reply.dryRun : undefined;
    expect(report?.outcome).toBe("refused");
    expect(report?.error?.code).toBe(code);
    expect(report?.error?.message).toMatch(message);
  });

  it.each(["add", "remove", "restart", "provision"])(
    "%s: a second request for the target while the first is checked is refused at once, and the target is free again after a refusal",
    async (mode) => {
      // db3 replicates nothing: an add / remove / restart is refused by the checks (no run
      // starts); a provision is refused too (db3 is writable).
      const w = world({
        facts: { ...world().facts, db3: facts({ serverId: 3, gtidDomainId: 0 }) },
      });
      const { handle } = handler(w);
      const p =
        mode === "provision"
          ? payload({ dryRun: false })
          : one(mode, { dryRun: false, sources: [{ cluster: "p2" }] });
      const [first, second] = await Promise.all([
        handle("p1", p as never),
        handle("p1", p as never),
      ]);
      expect(first.ok ? null : first.error?.code).toBe("PROVISION_CHECK_FAILED");
      expect(second.ok ? null : second.error).toMatchObject({
        code: "OPERATION_IN_PROGRESS",
        message: "db3: provision-replica runs on it now",
      });
      const third = await handle("p1", p as never);
      expect(third.ok ? null : third.error?.code).toBe("PROVISION_CHECK_FAILED");
    },
  );

  it("add: copy:p2 then attach:p2 with p2's own domain", async () => {
    const { handle } = handler(attachedToP1());
    const reply = await handle("p1", one("add") as never);
    const report = reply.ok ? reply.dryRun : undefined;
    expect(report?.outcome).toBe("accepted");
    expect(report?.operation?.phases.map((p) => p.name)).toEqual(["copy:p2", "attach:p2"]);
    expect(report?.operation?.phases[1]?.steps[0]?.step).toEqual({
      kind: "replace-gtid-domains",
      domains: [2],
      pos: "2-2-5",
      timeoutMs: 600_000,
    });
    const send = report?.operation?.phases[0]?.agentCalls.find((c) => c.key === "send-p2");
    expect(send?.action).toMatchObject({ action: "send-backup", addSource: true });
  });

  it.each([
    ["remove", ["reset-replication", "replace-gtid-domains"]],
    ["restart", ["stop-replication", "start-replication", "verify-replicating"]],
  ])("%s of p1: %j", async (mode, kinds) => {
    const { handle } = handler(attachedToP1());
    const reply = await handle("p1", one(mode, { sources: [{ cluster: "p1" }] }) as never);
    const report = reply.ok ? reply.dryRun : undefined;
    expect(report?.outcome).toBe("accepted");
    expect(report?.operation?.phases[0]?.steps.map((s) => s.step.kind)).toEqual(kinds);
  });
});
