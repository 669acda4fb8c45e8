// NATS identities on a real nats-server: each Marina role may do what its code does and is
// refused by the SERVER outside it (@marina/contracts' natsPermissions, scoped to cluster
// `main` and agent host `db1-host`); no credentials, no connection; a forged health sample
// from an operator or observer never reaches a decider; nobody reads another's replies;
// veto requests are answered by veto-responders, and an observer answers nothing.
// That the permissions are ENOUGH is proven by the e2e suite: every sandbox test runs each
// service under its identity, and the lab fails a test whose services were refused anything.
import {
  BEAT_INBOX_PREFIX,
  envelope,
  HealthMessage,
  inboxPrefix,
  NATS_ROLES,
  type NatsIdentity,
  type NatsRole,
  natsPermissions,
  renderAuthorization,
  subjects,
} from "@marina/contracts";
import {
  makeLabDir,
  makeLabNatsUsers,
  type NatsServer,
  removeTree,
  startLab,
  startNats,
  waitFor,
} from "@marina/lab";
import { connect, errors, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SCOPE = { clusters: ["main"], hosts: ["db1-host"] };

/** A connection as `role`, recording every permission refusal the server sends it. */
class Client {
  readonly refused: Array<{ operation: string; subject: string }> = [];
  private constructor(readonly nc: NatsConnection) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "error" && s.error instanceof errors.PermissionViolationError) {
          this.refused.push({ operation: s.error.operation, subject: s.error.subject });
        }
      }
    })();
  }

  static async as(url: string, role: NatsRole, users: ReturnType<typeof makeLabNatsUsers>) {
    const u = users[role];
    return new Client(
      await connect({
        servers: url,
        user: u.user,
        pass: u.password,
        inboxPrefix: inboxPrefix(role, "db1-host"),
      }),
    );
  }

  wasRefused(op: "publish" | "subscription", subject: string): boolean {
    return this.refused.some((r) => r.operation === op && r.subject === subject);
  }

  /** Publishes, then resolves with whether the server refused it. */
  async publish(subject: string, data = "{}"): Promise<"ok" | "refused"> {
    this.nc.publish(subject, data);
    return this.settle("publish", subject);
  }

  /** Subscribes, then resolves with whether the server refused it. */
  async subscribe(subject: string): Promise<"ok" | "refused"> {
    this.nc.subscribe(subject, { callback: () => {} });
    return this.settle("subscription", subject);
  }

  /** A refusal comes back before the PONG of a flush sent after the operation. */
  private async settle(op: "publish" | "subscription", subject: string) {
    await this.nc.flush();
    await this.nc.flush();
    return this.wasRefused(op, subject) ? "refused" : "ok";
  }
}

describe("NATS identities: least privilege, enforced by the server", () => {
  let dir: string;
  let nats: NatsServer;
  const users = makeLabNatsUsers();
  const clients: Client[] = [];
  const as = async (role: NatsRole) => {
    const c = await Client.as(nats.url, role, users);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = await makeLabDir();
    const identities: NatsIdentity[] = [
      // The lab's readiness probe logs in as `lab` (unrestricted; no_auth_user is not set).
      { ...users.lab, permissions: undefined },
      ...NATS_ROLES.map((r) => ({ ...users[r], permissions: natsPermissions(r, SCOPE) })),
    ];
    nats = await startNats({
      dir,
      authorization: renderAuthorization(identities),
      probeUser: users.lab,
    });
  });
  afterAll(async () => {
    for (const c of clients) await c.nc.close().catch(() => {});
    await nats?.close();
    await removeTree(dir);
  });

  it("refuses a client without credentials, and one with a wrong password", async () => {
    await expect(connect({ servers: nats.url })).rejects.toThrow(/Authorization Violation/i);
    await expect(
      connect({ servers: nats.url, user: users.decider.user, pass: "wrong" }),
    ).rejects.toThrow(/Authorization Violation/i);
  });

  const main = "marina.v1.main";
  // [role, operation, subject, expected]
  const table: Array<[NatsRole, "pub" | "sub", string, "ok" | "refused"]> = [
    ["monitor", "pub", `${main}.health.db1`, "ok"],
    ["monitor", "pub", `${main}.observed`, "ok"],
    ["monitor", "pub", "marina.v1.other.health.db1", "refused"], // not its cluster
    ["monitor", "pub", `${main}.topology`, "refused"],
    ["monitor", "pub", `${main}.exec`, "refused"],
    ["monitor", "pub", `${main}.cmd.failover`, "refused"],
    ["monitor", "sub", `${main}.cmd.*`, "refused"],
    ["decider", "pub", `${main}.topology`, "ok"],
    ["decider", "pub", `${main}.exec`, "ok"],
    ["decider", "pub", "marina.v1.agent.db1-host.stop-server", "ok"],
    ["decider", "sub", `${main}.health.*`, "ok"],
    ["decider", "sub", `${main}.cmd.*`, "ok"],
    ["decider", "pub", `${main}.health.db1`, "refused"], // forging the monitor
    ["decider", "pub", "marina.v1.agent.db1-host.heartbeat", "refused"], // forging an agent
    ["decider", "sub", `${main}.exec`, "refused"],
    ["executor", "sub", `${main}.exec`, "ok"],
    ["executor", "pub", `${BEAT_INBOX_PREFIX}.x1`, "ok"],
    ["executor", "pub", `${inboxPrefix("decider")}.x1`, "refused"], // no forged replies
    ["executor", "sub", "marina.v1.other.exec", "refused"],
    ["executor", "pub", "$KV.marina_leader.main", "refused"], // may read the lease, never write it
    ["executor", "pub", `${main}.topology`, "refused"],
    ["executor", "pub", `${main}.health.db1`, "refused"],
    ["executor", "sub", `${main}.cmd.*`, "refused"],
    ["agent", "sub", "marina.v1.agent.db1-host.stop-server", "ok"],
    ["agent", "pub", "marina.v1.agent.db1-host.heartbeat", "ok"],
    ["agent", "sub", "marina.v1.agent.db2-host.stop-server", "refused"], // another host's
    ["agent", "pub", "marina.v1.agent.db2-host.heartbeat", "refused"],
    ["agent", "pub", "$KV.marina_leader.main", "refused"],
    ["agent", "sub", `${inboxPrefix("agent", "db2-host")}.>`, "refused"], // another host's replies
    ["agent", "pub", `${main}.exec`, "refused"],
    ["operator", "pub", `${main}.cmd.switchover`, "ok"],
    ["operator", "sub", "marina.v1.>", "ok"],
    ["operator", "sub", ">", "refused"],
    ["operator", "pub", `${main}.health.db1`, "refused"],
    ["operator", "pub", `${main}.topology`, "refused"],
    ["operator", "pub", `${main}.exec`, "refused"],
    ["operator", "pub", "$KV.marina_leader.main", "refused"],
    ["operator", "pub", "$JS.API.STREAM.DELETE.MARINA_EVENTS", "refused"],
    ["operator", "sub", `${inboxPrefix("decider")}.>`, "refused"],
    ["observer", "sub", `${main}.topology`, "ok"],
    ["observer", "sub", `${main}.op.*`, "ok"],
    ["observer", "pub", "$JS.API.DIRECT.GET.MARINA_EVENTS", "ok"],
    ["observer", "sub", `${main}.health.*`, "refused"],
    ["observer", "sub", `${main}.cmd.*`, "refused"],
    ["observer", "pub", `${main}.cmd.failover`, "refused"],
    ["observer", "pub", `${main}.topology`, "refused"],
    // Push consumers can deliver anywhere (nats-server#8274): observers create none.
    ["observer", "pub", "$JS.API.CONSUMER.CREATE.MARINA_EVENTS", "refused"],
    ["observer", "sub", "_INBOX.>", "refused"],
    // The history: deciders write it, operators list it, observers read a record by id.
    ["decider", "pub", `${main}.history.op-1`, "ok"],
    ["operator", "pub", `${main}.history.op-1`, "refused"],
    ["observer", "pub", `${main}.history.op-1`, "refused"],
    ["observer", "sub", `${main}.history.*`, "ok"],
    ["observer", "pub", "$JS.API.DIRECT.GET.MARINA_HISTORY", "ok"],
    ["observer", "pub", "$JS.API.CONSUMER.CREATE.MARINA_HISTORY", "refused"],
    ["operator", "pub", "$JS.API.STREAM.PURGE.MARINA_HISTORY", "refused"],
    // Veto requests: executors ask, veto-responders (and no observer) receive them.
    ["executor", "pub", `${main}.veto.failover`, "ok"],
    ["observer", "sub", `${main}.veto.*`, "refused"],
    ["veto-responder", "sub", `${main}.veto.*`, "ok"],
    ["veto-responder", "sub", "marina.v1.other.veto.*", "refused"], // not its cluster
    ["veto-responder", "sub", `${main}.history.*`, "refused"],
    ["veto-responder", "sub", `${main}.topology`, "refused"],
    ["veto-responder", "sub", `${main}.exec`, "refused"],
    ["veto-responder", "pub", `${main}.veto.failover`, "refused"],
    ["veto-responder", "pub", `${main}.cmd.failover`, "refused"],
    ["veto-responder", "pub", `${main}.history.op-1`, "refused"],
    ["veto-responder", "pub", `${inboxPrefix("executor")}.x1`, "refused"], // only as a reply
    ["veto-responder", "pub", `${inboxPrefix("decider")}.x1`, "refused"],
    ["veto-responder", "pub", "$JS.API.INFO", "refused"],
  ];

  it.each(table)("%s %s %s → %s", async (role, op, subject, expected) => {
    const c = await as(role);
    const got = op === "pub" ? await c.publish(subject) : await c.subscribe(subject);
    expect(got).toBe(expected);
  });

  it("a valid health sample forged by an operator or observer never reaches a decider", async () => {
    const decider = await as("decider");
    const seen: string[] = [];
    decider.nc.subscribe(subjects.healthAll("main"), {
      callback: (_e, m) => {
        seen.push(m.string());
      },
    });
    await decider.nc.flush();
    const forged = JSON.stringify(
      HealthMessage.parse(
        envelope("health", "monitor:m1", {
          cluster: "main",
          server: "db1",
          monitor: "m1",
          address: { host: "127.0.0.1", port: 3306 },
          probe: 1,
          reachable: false,
          latencyMs: null,
          consecutiveFailures: 5,
          sinceLastSuccessMs: 10_000,
          error: { code: "SERVER_UNREACHABLE", message: "forged", kind: "refused" },
          observation: null,
        }),
      ),
    );
    for (const role of ["operator", "observer"] as const) {
      const c = await as(role);
      expect(await c.publish(subjects.health("main", "db1"), forged)).toBe("refused");
    }
    // The monitor's own sample does arrive: the subscription works.
    const monitor = await as("monitor");
    expect(await monitor.publish(subjects.health("main", "db1"), '{"real":1}')).toBe("ok");
    await waitFor(async () => (seen.length > 0 ? true : undefined), {
      timeoutMs: 5_000,
      message: "the monitor's sample at the decider",
    });
    expect(seen).toEqual(['{"real":1}']);
  });

  it("a responder answers its requester, whose inbox nobody else may read", async () => {
    const executor = await as("executor");
    executor.nc.subscribe(subjects.exec("main"), {
      queue: "executors",
      callback: (_e, m) => {
        m.respond("done");
      },
    });
    await executor.nc.flush();
    const decider = await as("decider");
    const reply = await decider.nc.request(subjects.exec("main"), "{}", { timeout: 5_000 });
    expect(reply.string()).toBe("done");
    const spy = await as("executor");
    expect(await spy.subscribe(`${inboxPrefix("decider")}.>`)).toBe("refused");
  });

  it("a veto-responder answers an executor's veto request", async () => {
    const responder = await as("veto-responder");
    responder.nc.subscribe(subjects.veto("main", "failover"), {
      callback: (_e, m) => {
        m.respond('{"veto":true,"responder":"freeze-bot"}');
      },
    });
    await responder.nc.flush();
    const executor = await as("executor");
    const reply = await executor.nc.request(subjects.veto("main", "failover"), "{}", {
      timeout: 5_000,
    });
    expect(reply.string()).toBe('{"veto":true,"responder":"freeze-bot"}');
    expect(responder.refused).toEqual([]);
  });

  it("an observer cannot answer what it sees: a forged JetStream ack to the decider is refused", async () => {
    const observer = await as("observer");
    const forged: string[] = [];
    observer.nc.subscribe(subjects.history("main", "op-1"), {
      callback: (_e, m) => {
        if (m.reply) forged.push(m.reply);
        m.respond('{"stream":"MARINA_HISTORY","seq":1}');
      },
    });
    await observer.nc.flush();
    const decider = await as("decider");
    // What a JetStream publish is on the wire: a request whose reply is the stored ack.
    await expect(
      decider.nc.request(subjects.history("main", "op-1"), "{}", { timeout: 1_000 }),
    ).rejects.toThrow();
    await observer.nc.flush();
    expect(forged).toHaveLength(1);
    await waitFor(async () => (observer.wasRefused("publish", forged[0]!) ? true : undefined), {
      timeoutMs: 5_000,
      message: "the server refusing the observer's reply",
    });
  });
});

describe("the lab's strict mode", () => {
  it("refuses a client without credentials; the lab's own user gets in", async () => {
    const lab = await startLab({ nodes: 1, natsAuth: "strict" });
    try {
      await expect(connect({ servers: lab.nats!.url })).rejects.toThrow(/Authorization/i);
      const u = lab.natsUsers!.lab;
      const nc = await connect({ servers: lab.nats!.url, user: u.user, pass: u.password });
      await nc.close();
    } finally {
      await lab.close();
    }
  });

  it("fails close() when a Marina identity was refused anything (what makes the e2e suite a proof)", async () => {
    const lab = await startLab({ nodes: 1 });
    try {
      const c = await Client.as(lab.nats!.url, "monitor", lab.natsUsers!);
      expect(await c.publish(subjects.topology("main"))).toBe("refused");
      await c.nc.close();
    } finally {
      await expect(lab.close()).rejects.toMatchObject({ code: "LAB_NATS_PERMISSION_VIOLATION" });
    }
  });
});
