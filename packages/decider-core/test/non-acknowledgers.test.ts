import type { ExecRequest } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { Driver, makeConfig, situationsIn, T0 } from "./helpers.js";
import { World } from "./world.js";

// A replica that is never promoted must not be a semi-sync replica (issue 18): a write only
// it acknowledged would be lost by the promotion of another. Marina turns its semi-sync
// slave side off where it finds it on, and never turns it on there itself.

function setup(semiSync: boolean | "strict", db3Never = true) {
  const config = makeConfig({
    semiSync,
    servers: [
      { name: "db1" },
      { name: "db2" },
      { name: "db3", ...(db3Never ? { promotion: "never" } : {}) },
    ],
  });
  const d = new Driver(config);
  const w = new World(config, T0);
  w.s("db1").semiMaster = semiSync !== false;
  w.s("db1").semiStrict = semiSync === "strict";
  for (const r of ["db2", "db3"]) w.s(r).semiSlave = semiSync !== false;
  const cycle = (ms = 500) => {
    d.advance(ms);
    w.advance(ms);
    const a = w.observe(d);
    return [...a, ...w.serve(d, a)];
  };
  return { d, w, cycle };
}

const semiSteps = (w: World, server: string) =>
  w.executed
    .filter((r: ExecRequest) => r.server === server && r.step.kind === "set-semi-sync")
    .map((r) => r.step);

describe("never-promoted replicas are not semi-sync replicas", () => {
  it("turns semi-sync slave off on one, once, and reports it", () => {
    const { w, cycle } = setup(true);
    const situations = [
      ...situationsIn(cycle(0)),
      ...situationsIn(cycle()),
      ...situationsIn(cycle()),
    ];
    expect(situations.filter((s) => s.startsWith("DurabilityWeakened"))).toEqual([
      "DurabilityWeakened db3",
    ]);
    expect(semiSteps(w, "db3")).toEqual([{ kind: "set-semi-sync", slave: false }]);
    expect(w.s("db3").semiSlave).toBe(false);
    // db2 may be promoted: left a semi-sync replica.
    expect(semiSteps(w, "db2")).toEqual([]);
    expect(w.s("db2").semiSlave).toBe(true);
    for (let i = 0; i < 5; i++) cycle(1000);
    expect(semiSteps(w, "db3")).toHaveLength(1);
  });

  it("leaves it alone without semi-sync in the config", () => {
    const { w, cycle } = setup(false);
    w.s("db3").semiSlave = true;
    for (let i = 0; i < 3; i++) cycle();
    expect(semiSteps(w, "db3")).toEqual([]);
  });

  it("a failover repoints it with semi-sync slave off, and the promotable one with it on", () => {
    for (const semiSync of [true, "strict"] as const) {
      const { d, w, cycle } = setup(semiSync);
      cycle(0);
      w.kill("db1");
      cycle();
      cycle();
      expect(d.state.primary).toBe("db2");
      const db3 = semiSteps(w, "db3");
      expect(db3.length).toBeGreaterThan(0);
      for (const s of db3) expect(s).toMatchObject({ slave: false });
      expect(w.s("db3").semiSlave).toBe(false);
    }
  });

  it("without the rule (promotable db3) the same failover turns it on (the test can fail)", () => {
    const { d, w, cycle } = setup(true, false);
    cycle(0);
    w.kill("db1");
    cycle();
    cycle();
    expect(d.state.primary).toBe("db2");
    expect(semiSteps(w, "db3").some((s) => s.kind === "set-semi-sync" && s.slave === true)).toBe(
      true,
    );
  });

  it("a failover never promotes a delayed replica, though its own inspection does not show the delay", () => {
    // db2 comes first in the config order and ties with db3: only the delay keeps it out.
    for (const semiSync of [false, true] as const) {
      const config = makeConfig({ semiSync });
      const d = new Driver(config);
      const w = new World(config, T0);
      w.s("db1").semiMaster = semiSync;
      const db2 = w.s("db2").conns[0]!;
      db2.delay = 3600;
      const cycle = (ms = 500) => {
        d.advance(ms);
        w.advance(ms);
        const a = w.observe(d);
        return [...a, ...w.serve(d, a)];
      };
      cycle(0);
      cycle();
      w.kill("db1");
      cycle();
      cycle();
      expect(d.state.primary, `semiSync ${semiSync}`).toBe("db3");
      // Repointed to db3 with semi-sync slave off (or not set at all without semi-sync).
      for (const s of semiSteps(w, "db2")) expect(s).toMatchObject({ slave: false });
      expect(w.s("db2").semiSlave).toBe(false);
    }
  });
});
