import {
  HealthMessage,
  type HealthSample,
  MarinaConfig,
  ObservedTopologyMessage,
  parseMessage,
} from "@marina/contracts";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type Bus, buildApp, type MonitorApp } from "../src/app.js";
import { FakeServer, fakeConnector } from "./fake-db.js";
import { recorded } from "./fixtures.js";

const rec = recorded("semi-sync-broken");
const names = ["db1", "db2", "db3"] as const;

class MemoryBus implements Bus {
  connected = true;
  readonly messages: { subject: string; data: string }[] = [];
  publish(subject: string, data: Uint8Array): void {
    this.messages.push({ subject, data: new TextDecoder().decode(data) });
  }
  isConnected(): boolean {
    return this.connected;
  }
  health(server?: string): HealthSample[] {
    return this.messages
      .filter(
        (m) => m.subject.includes(".health.") && (!server || m.subject.endsWith(`.${server}`)),
      )
      .map((m) => {
        const r = parseMessage(HealthMessage, m.data);
        if (!r.ok) throw new Error(r.error.message);
        return r.value.payload;
      });
  }
  observed() {
    return this.messages
      .filter((m) => m.subject.endsWith(".observed"))
      .map((m) => {
        const r = parseMessage(ObservedTopologyMessage, m.data);
        if (!r.ok) throw new Error(r.error.message);
        return r.value;
      });
  }
}

async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A copy of recorded probe rows with every replication connection's IO thread set. */
function withIoThread(result: unknown, io: string): unknown {
  const sets = structuredClone(result) as Record<string, unknown>[][];
  for (const row of sets[2] ?? []) row.Slave_IO_Running = io;
  return sets;
}

let app: MonitorApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

function setup(monitor: Record<string, number> = {}) {
  const servers = new Map(
    names.map((n) => [rec.servers[n]!.port, new FakeServer(n, rec.servers[n]!.result)]),
  );
  const byName = (n: string) => [...servers.values()].find((s) => s.name === n)!;
  const config = MarinaConfig.parse({
    clusters: [
      {
        name: "main",
        servers: names.map((n) => ({ name: n, host: "127.0.0.1", port: rec.servers[n]!.port })),
        admin: { user: "marina", password: { env: "TEST_MARINA_PW" } },
        replication: { user: "repl", password: { value: "x" } },
        monitor: { intervalMs: 60_000, queryTimeoutMs: 100, backoffMinMs: 10, ...monitor },
      },
    ],
  });
  const bus = new MemoryBus();
  app = buildApp({
    bus,
    log: pino({ level: "silent" }),
    config,
    monitorId: "m1",
    connect: fakeConnector(servers),
    env: { TEST_MARINA_PW: "pw" },
  });
  return { bus, app, byName };
}

describe("buildApp", () => {
  it("publishes one validated health envelope per server per probe, naming the monitor", async () => {
    const { bus, app } = setup();
    app.start();
    await until("3 samples", () => bus.health().length >= 3);
    const m = bus.messages.find((x) => x.subject === "marina.v1.main.health.db1")!;
    const r = parseMessage(HealthMessage, m.data);
    expect(r.ok && r.value.source).toBe("monitor/m1");
    expect(r.ok && r.value.payload).toMatchObject({
      cluster: "main",
      server: "db1",
      monitor: "m1",
      reachable: true,
      probe: 1,
    });
  });

  it("publishes the observed topology once all servers were seen, and again only on change", async () => {
    const { bus, app, byName } = setup({ intervalMs: 50 });
    app.start();
    await until("topology", () => bus.observed().length === 1);
    await until("more probes", () => bus.health("db1").length >= 4);
    expect(bus.observed()).toHaveLength(1);
    expect(bus.observed()[0]!.payload).toMatchObject({
      primaries: ["db1"],
      replicas: ["db2", "db3"],
      monitor: "m1",
    });
    expect(bus.observed()[0]!.payload.brokenLinks.map((l) => l.replica)).toEqual(["db3"]);
    byName("db3").kill();
    await until("changed topology", () => bus.observed().length === 2);
    expect(bus.observed()[1]!.payload.unreachable).toEqual(["db3"]);
  });

  it("reports a dropped connection at once and re-probes the other servers", async () => {
    const { bus, app, byName } = setup(); // intervalMs 60 s: no scheduled probe will help
    app.start();
    await until("first round", () => bus.health().length === 3);
    byName("db1").kill();
    const lost = await until("unreachable db1", () => bus.health("db1").find((s) => !s.reachable));
    expect(lost.error?.kind).toBe("dropped");
    expect(lost.sinceLastSuccessMs).not.toBeNull();
    await until("re-probes", () => bus.health("db2").length >= 2 && bus.health("db3").length >= 2);
  });

  it("re-probes the other servers several times after a drop, until a replica shows the loss", async () => {
    const { bus, app, byName } = setup(); // intervalMs 60 s: only the burst can help
    app.start();
    await until("first round", () => bus.health().length === 3);
    // db2's IO thread notices the dead primary only after its first re-probe (as on a real
    // replica, where the monitor sees the drop a few ms before the IO thread does).
    const db2 = byName("db2");
    db2.answers = [db2.result];
    db2.result = withIoThread(db2.result, "Connecting");
    byName("db1").kill();
    const seen = await until("db2 seen with its IO thread down", () =>
      bus
        .health("db2")
        .find((s) => s.observation?.replication.some((c) => c.ioThread === "Connecting")),
    );
    expect(seen.reachable).toBe(true);
    // The server that was lost is not part of the burst; db3 is.
    await until("several re-probes of db3", () => bus.health("db3").length >= 4);
    expect(bus.health("db1").filter((s) => !s.reachable).length).toBeLessThan(
      bus.health("db3").length,
    );
  });

  it("never runs two probes at once on one connection during a burst", async () => {
    const { bus, app, byName } = setup();
    app.start();
    await until("first round", () => bus.health().length === 3);
    const db2 = byName("db2");
    db2.delayMs = 60; // longer than the gaps between the first re-probes
    byName("db1").kill();
    await until("re-probes of db2", () => bus.health("db2").length >= 4);
    expect(db2.maxInFlight).toBe(1);
    expect(db2.connects).toBe(1);
  });

  it("does not burst-probe a server that is already down", async () => {
    const { bus, app, byName } = setup({ backoffMinMs: 60_000, backoffMaxMs: 60_000 });
    byName("db3").state = "down";
    app.start();
    await until("first round", () => bus.health().length === 3);
    byName("db1").kill();
    await until("re-probes of db2", () => bus.health("db2").length >= 4);
    // db3 keeps its one failure from the first round: no burst of repeated failures.
    expect(bus.health("db3")).toHaveLength(1);
  });

  it("reports a frozen server after queryTimeoutMs and tries to reconnect at every interval", async () => {
    const { bus, app, byName } = setup({ intervalMs: 50, queryTimeoutMs: 100, backoffMinMs: 5000 });
    app.start();
    await until("up", () => bus.health("db1").some((s) => s.reachable));
    byName("db1").state = "frozen";
    const lost = await until("timeout", () => bus.health("db1").find((s) => !s.reachable));
    expect(lost.error?.kind).toBe("timeout");
    expect(byName("db1").open).toHaveLength(0);
    // A 5 s backoff does not hold back the scheduled probes: each one tries to connect.
    const connects = byName("db1").connects;
    await until("more failures", () => bus.health("db1").filter((s) => !s.reachable).length >= 4);
    expect(byName("db1").connects).toBeGreaterThanOrEqual(connects + 2);
    const last = bus.health("db1").at(-1)!;
    expect(last.consecutiveFailures).toBeGreaterThanOrEqual(4);
  });

  it("sees a returning server at the next scheduled probe, whatever the backoff", async () => {
    const { bus, app, byName } = setup({
      intervalMs: 50,
      backoffMinMs: 60_000,
      backoffMaxMs: 60_000,
    });
    byName("db2").state = "down";
    app.start();
    await until("down a while", () => bus.health("db2").filter((x) => !x.reachable).length >= 3);
    const before = bus.health("db2").length;
    byName("db2").state = "up";
    // 1-based position of the first reachable sample (0 would read as "not yet").
    const back = await until("back", () => bus.health("db2").findIndex((x) => x.reachable) + 1);
    // The probe in flight at the change may still fail; the one after it connects.
    expect(back - 1 - before).toBeLessThanOrEqual(1);
  });

  it("reports a refused server, and sees it again when it comes back", async () => {
    const { bus, app, byName } = setup({ intervalMs: 50, backoffMinMs: 10, backoffMaxMs: 20 });
    byName("db2").state = "down";
    app.start();
    const s = await until("refused", () => bus.health("db2").find((x) => !x.reachable));
    expect(s.error?.kind).toBe("refused");
    expect(s.sinceLastSuccessMs).toBeNull();
    byName("db2").state = "up";
    const back = await until("back", () => bus.health("db2").find((x) => x.reachable));
    expect(back.consecutiveFailures).toBe(0);
  });

  it("keeps the connection on an SQL error", async () => {
    const { bus, app, byName } = setup({ intervalMs: 50 });
    const db1 = byName("db1");
    db1.nextQueryError = Object.assign(new Error("denied"), {
      code: "ER_SPECIFIC_ACCESS_DENIED_ERROR",
      errno: 1227,
      fatal: false,
    });
    app.start();
    await until("error then success", () => {
      const h = bus.health("db1");
      return h.length >= 2 && h.some((x) => !x.reachable) && h.at(-1)!.reachable;
    });
    expect(bus.health("db1")[0]!.error?.kind).toBe("auth");
    expect(db1.connects).toBe(1);
  });

  it("includes disks when the server has the DISKS plugin", async () => {
    const { bus, app, byName } = setup();
    byName("db1").disks = true;
    app.start();
    const s = await until("db1", () => bus.health("db1")[0]);
    expect(s.observation?.disk).toEqual([
      { source: "information_schema.DISKS", path: "/", totalBytes: 102400, freeBytes: 40960 },
    ]);
    expect(bus.health("db2")[0]!.observation?.disk).toEqual([]);
  });

  it("includes the oldest transaction's age where INNODB_TRX can be read (PROCESS)", async () => {
    const { bus, app, byName } = setup();
    byName("db1").oldestTrxSeconds = 75;
    byName("db2").disks = true;
    byName("db2").oldestTrxSeconds = 0;
    app.start();
    const s = await until("db1", () => bus.health("db1")[0]);
    expect(s.observation?.oldestTransactionSeconds).toBe(75);
    const s2 = await until("db2", () => bus.health("db2")[0]);
    expect(s2.observation?.oldestTransactionSeconds).toBe(0);
    expect(s2.observation?.disk).toHaveLength(1);
    // Refused (no PROCESS): left out, and the server is probed as before.
    const s3 = await until("db3", () => bus.health("db3")[0]);
    expect(s3.reachable).toBe(true);
    expect(s3.observation).not.toHaveProperty("oldestTransactionSeconds");
  });

  it("keeps probing a server whose PROCESS grant is revoked while connected", async () => {
    const { bus, app, byName } = setup({ intervalMs: 50 });
    byName("db1").oldestTrxSeconds = 75;
    app.start();
    await until("db1", () => bus.health("db1")[0]);
    byName("db1").oldestTrxSeconds = undefined; // revoked: the probe with INNODB_TRX fails
    const seen = bus.health("db1").length;
    const next = await until("db1", () => bus.health("db1")[seen]);
    expect(next.reachable).toBe(true);
    expect(next.observation).not.toHaveProperty("oldestTransactionSeconds");
  });

  it("serves /healthz and /metrics", async () => {
    const { bus, app } = setup();
    let r = await app.http.inject({ method: "GET", url: "/healthz" });
    expect(r.statusCode).toBe(503);
    app.start();
    await until("3 samples", () => bus.health().length >= 3);
    r = await app.http.inject({ method: "GET", url: "/healthz" });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: "ok", nats: true, probers: { running: 3, total: 3 } });
    bus.connected = false;
    r = await app.http.inject({ method: "GET", url: "/healthz" });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ nats: false });
    r = await app.http.inject({ method: "GET", url: "/metrics" });
    expect(r.headers["content-type"]).toContain("text/plain");
    expect(r.body).toContain('marina_monitor_probes_total{cluster="main",server="db1"} 1');
    expect(r.body).toContain(
      'marina_monitor_events_published_total{cluster="main",type="health"} 3',
    );
    expect(r.body).toContain("marina_monitor_nats_connected 0");
  });

  it("fails to build, naming the variable, when a password env var is missing", () => {
    const config = MarinaConfig.parse({
      clusters: [
        {
          name: "main",
          servers: [{ name: "db1", host: "127.0.0.1" }],
          admin: { user: "marina", password: { env: "NOPE_NOT_SET" } },
          replication: { user: "repl", password: { value: "x" } },
        },
      ],
    });
    expect(() =>
      buildApp({
        bus: new MemoryBus(),
        log: pino({ level: "silent" }),
        config,
        monitorId: "m1",
        env: {},
      }),
    ).toThrow("clusters.0.admin.password: environment variable NOPE_NOT_SET is not set");
  });

  it("probes as monitorAccount when the config has one (and names its field when unset)", async () => {
    const users: string[] = [];
    const cluster = {
      name: "main",
      servers: [{ name: "db1", host: "127.0.0.1", port: 1 }],
      admin: { user: "marina", password: { env: "NOPE_NOT_SET" } },
      monitorAccount: { user: "marina_monitor", password: { env: "MON_PW" } },
      replication: { user: "repl", password: { value: "x" } },
    };
    const build = (env: NodeJS.ProcessEnv) =>
      buildApp({
        bus: new MemoryBus(),
        log: pino({ level: "silent" }),
        config: MarinaConfig.parse({ clusters: [cluster] }),
        monitorId: "m1",
        env,
        connect: async (t) => {
          users.push(`${t.user}:${t.password}`);
          throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
        },
      });
    expect(() => build({})).toThrow(
      "clusters.0.monitorAccount.password: environment variable MON_PW is not set",
    );
    app = build({ MON_PW: "mon-pw" });
    // The admin password is not needed by the monitor: its variable may be unset.
    const [result] = await app.checkPrivileges();
    expect(result).toMatchObject({ server: "db1", kind: "unreadable", error: "refused" });
    expect(users).toEqual(["marina_monitor:mon-pw"]);
  });
});
