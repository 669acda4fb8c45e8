import type { ClusterTopology } from "@marina/contracts";
import type { LeaseView } from "@marina/lease-fence";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { AgentServerConfig, SelfFenceConfig } from "../src/config.js";
import {
  candidatePeers,
  coordinationLost,
  type Peer,
  selfFenceVerdict,
} from "../src/self-fence/rule.js";
import { selfFence } from "../src/self-fence/watcher.js";

const server = (name: string, role: string) => ({
  name,
  host: `10.0.0.${name.slice(2)}`,
  port: 3306,
  role,
  sources: [],
  readOnly: role !== "primary",
  gtidCurrentPos: null,
  reason: null,
});

const topology = (roles: Record<string, string>): ClusterTopology =>
  ({
    cluster: "main",
    epoch: 1,
    generation: 1,
    primary: "db1",
    writer: null,
    servers: Object.entries(roles).map(([n, r]) => server(n, r)),
  }) as unknown as ClusterTopology;

describe("self-fence rule", () => {
  it("checks the replicas and relays that could be promoted, never itself", () => {
    const t = topology({
      db1: "primary",
      db2: "replica",
      db3: "relay",
      db4: "down",
      db5: "maintenance",
    });
    expect(candidatePeers(t, "db1").map((p) => p.name)).toEqual(["db2", "db3"]);
    expect(candidatePeers(t, "db2").map((p) => p.name)).toEqual(["db3"]);
  });

  it.each<[number | null, number, boolean, string]>([
    [null, 10_000, false, "never armed"],
    [1_000, 2_000, false, "within afterMs"],
    [1_000, 2_500, false, "at afterMs"],
    [1_000, 2_501, true, "past afterMs"],
  ])("coordination lost: last renewal %s, now %s → %s (%s)", (seen, now, lost) => {
    expect(coordinationLost(seen, now, 1_500)).toBe(lost);
  });

  it.each([
    [null, false, /no topology/],
    [[], false, /no replica could be promoted/],
    [
      [
        { name: "db2", reachable: true },
        { name: "db3", reachable: true },
      ],
      false,
      /every candidate/,
    ],
    [
      [
        { name: "db2", reachable: true },
        { name: "db3", reachable: false },
      ],
      true,
      /db3 unreachable/,
    ],
    [
      [
        { name: "db2", reachable: false },
        { name: "db3", reachable: false },
      ],
      true,
      /db2, db3/,
    ],
  ])("peers %j → fence %s", (peers, fence, reason) => {
    const v = selfFenceVerdict(peers, 2_000);
    expect(v.fence).toBe(fence);
    expect(v.reason).toMatch(reason);
  });
});

describe("self-fence watcher", () => {
  const cfg = SelfFenceConfig.parse({ afterMs: 1_500 });
  const db1 = AgentServerConfig.parse({ name: "db1", cluster: "main", datadir: "/var/lib/db1" });

  function world(o: {
    reachable: Record<string, boolean>;
    readOnly?: boolean;
    /** Reads of the topology that find none yet. */
    noTopologyReads?: number;
    /** A NATS majority answers the agent. */
    majority?: boolean;
  }) {
    let now = 0;
    let emptyReads = o.noTopologyReads ?? 0;
    let lease: LeaseView | null | undefined;
    let renewals = 0;
    const fenced: string[] = [];
    let readOnly = o.readOnly ?? false;
    const log = pino({ level: "silent" });
    const w = selfFence({
      config: cfg,
      servers: [db1],
      leaseCached: () => lease,
      readTopology: async () =>
        emptyReads-- > 0 ? null : topology({ db1: "primary", db2: "replica", db3: "replica" }),
      reachable: async (p: Peer) => o.reachable[p.name] ?? false,
      natsMajority: async () => o.majority ?? false,
      readOnly: async () => readOnly,
      fence: async (s) => {
        fenced.push(s.name);
        const was = readOnly;
        readOnly = true;
        return { fenced: !was, killed: 2, rounds: 3 };
      },
      now: () => now,
      log,
    });
    return {
      w,
      fenced,
      renew(paused = false) {
        renewals += 1;
        lease = { epoch: 7, expiresAt: now + 3_000 + renewals, ...(paused ? { paused } : {}) };
      },
      /** The watch restarts: nothing cached, then the same value delivered again. */
      rewatch() {
        const last = lease;
        lease = undefined;
        return () => {
          lease = last ? { ...last } : last;
        };
      },
      advance(ms: number) {
        now += ms;
      },
      makeWritable() {
        readOnly = false;
      },
    };
  }

  it("fences a writable primary once renewals stop and a candidate is out of reach", async () => {
    const x = world({ reachable: { db2: true, db3: false } });
    x.renew();
    await x.w.check(); // armed, topology read
    x.advance(1_000);
    await x.w.check();
    expect(x.fenced).toEqual([]);
    x.advance(600); // 1.6 s without a renewal
    await x.w.check();
    expect(x.fenced).toEqual(["db1"]);
    // Once per outage: made writable by hand meanwhile, it is left alone.
    x.makeWritable();
    x.advance(500);
    await x.w.check();
    expect(x.fenced).toEqual(["db1"]);
    // Renewals again, then lost again: fenced again.
    x.renew();
    await x.w.check();
    x.advance(2_000);
    await x.w.check();
    expect(x.fenced).toEqual(["db1", "db1"]);
  });

  it("reads the topology at every pass until there is one (a cut right after the first)", async () => {
    const x = world({ reachable: { db2: false, db3: false }, noTopologyReads: 2 });
    for (let i = 0; i < 3; i++) {
      x.renew();
      await x.w.check(); // none, none, then the topology: not 5 s later
      x.advance(500);
    }
    x.advance(2_000);
    await x.w.check();
    expect(x.fenced).toEqual(["db1"]);
  });

  it("takes a live topology when the stream read finds none (or is too slow)", async () => {
    const x = world({ reachable: { db2: false, db3: false }, noTopologyReads: 1_000 });
    x.renew();
    await x.w.check();
    x.w.offerTopology(topology({ db1: "primary", db2: "replica", db3: "replica" }));
    x.advance(2_000);
    await x.w.check();
    expect(x.fenced).toEqual(["db1"]);
  });

  it("keeps the writes while a NATS majority answers (the leading decider lost)", async () => {
    const x = world({ reachable: { db2: false, db3: true }, majority: true });
    x.renew();
    await x.w.check();
    x.advance(5_000);
    await x.w.check();
    expect(x.fenced).toEqual([]);
  });

  it("keeps the writes of a paused cluster (as the last lease said)", async () => {
    const x = world({ reachable: {} });
    x.renew(true);
    await x.w.check();
    x.advance(5_000);
    await x.w.check();
    expect(x.fenced).toEqual([]);
  });

  it("does not take a value delivered again after the watch restarted for a renewal", async () => {
    const x = world({ reachable: {} });
    x.renew();
    await x.w.check();
    x.advance(1_000);
    const redeliver = x.rewatch();
    await x.w.check(); // nothing cached
    redeliver();
    x.advance(600);
    await x.w.check(); // the old value again, 1.6 s after the real renewal
    expect(x.fenced).toEqual(["db1"]);
  });

  it("keeps the writes while every candidate is reachable (a NATS outage alone)", async () => {
    const x = world({ reachable: { db2: true, db3: true } });
    x.renew();
    await x.w.check();
    for (let i = 0; i < 20; i++) {
      x.advance(500);
      await x.w.check();
    }
    expect(x.fenced).toEqual([]);
  });

  it("keeps renewing primaries alone, and never arms without a fresh lease", async () => {
    const x = world({ reachable: {} });
    for (let i = 0; i < 10; i++) {
      x.renew();
      x.advance(700);
      await x.w.check();
    }
    expect(x.fenced).toEqual([]);
    const y = world({ reachable: {} });
    for (let i = 0; i < 10; i++) {
      y.advance(700);
      await y.w.check();
    }
    expect(y.fenced).toEqual([]);
  });

  it("leaves a read-only server alone", async () => {
    const x = world({ reachable: {}, readOnly: true });
    x.renew();
    await x.w.check();
    x.advance(5_000);
    await x.w.check();
    expect(x.fenced).toEqual([]);
  });
});
