import type { ExecRequest } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { Driver, errResult, makeConfig, opEventsIn, situationsIn, stepsIn, T0 } from "./helpers.js";
import { World } from "./world.js";

// Strict durability (`semiSync: "strict"`): semi-sync that never falls back to async.
// - a promoted server gets semi-sync master on, with the strict settings, BEFORE read_only=0
//   (no write is ever acknowledged without a replica's ack), not after the repoint;
// - every set-semi-sync step carries `strict` (rejoined and repointed servers get the
//   settings too), every fence keeps semi-sync master on;
// - the running primary is checked on every sample: DurabilityWeakened, and tightened
//   when its semi-sync master is on.

function setup(semiSync: boolean | "strict", primaryStrict = true) {
  const config = makeConfig({ semiSync });
  const d = new Driver(config);
  const w = new World(config, T0);
  w.s("db1").semiMaster = semiSync !== false;
  w.s("db1").semiStrict = primaryStrict;
  for (const r of ["db2", "db3"]) w.s(r).semiSlave = semiSync !== false;
  const cycle = (ms = 500, intercept?: Parameters<World["serve"]>[2]) => {
    d.advance(ms);
    w.advance(ms);
    const a = w.observe(d);
    return [...a, ...w.serve(d, a, intercept)];
  };
  const first = cycle(0);
  return { config, d, w, cycle, first };
}

const describeReq = (r: ExecRequest) => {
  const s = r.step;
  if (s.kind === "set-semi-sync") {
    return `${r.server} semi master=${s.master ?? "-"} slave=${s.slave ?? "-"}${s.strict ? " strict" : ""}`;
  }
  if (s.kind === "set-read-only") return `${r.server} ro=${s.readOnly}`;
  if (s.kind === "fence") return `${r.server} fence${s.semiSync === "keep" ? " keep" : ""}`;
  return `${r.server} ${s.kind}`;
};

describe("strict durability in a failover", () => {
  it("turns strict semi-sync master on before read_only=0 and has no semi-sync phase after", () => {
    const { d, w, cycle } = setup("strict");
    w.kill("db1");
    const all = cycle();
    expect(d.state.primary).toBe("db2");
    const onDb2 = w.executed.filter((r) => r.server === "db2").map(describeReq);
    const semi = onDb2.indexOf("db2 semi master=true slave=false strict");
    const writable = onDb2.indexOf("db2 ro=false");
    expect(semi).toBeGreaterThanOrEqual(0);
    expect(writable).toBeGreaterThan(semi);
    // Nothing turns it on again after the repoint.
    expect(onDb2.slice(writable + 1).filter((x) => x.includes("semi"))).toEqual([]);
    const phases = opEventsIn(all)
      .filter((e) => e.kind === "failover")
      .map((e) => e.phase);
    expect(phases).not.toContain("semi-sync");
    expect(opEventsIn(all).at(-1)?.message).toMatch(
      /semi-sync master on \(strict\) since the promotion/,
    );
    // The repointed replica gets the strict settings with its sides.
    expect(w.executed.filter((r) => r.server === "db3").map(describeReq)).toContain(
      "db3 semi master=false slave=true strict",
    );
    expect(w.s("db2")).toMatchObject({ semiMaster: true, semiStrict: true, readOnly: false });
  });

  it("with plain semi-sync: no strict settings, semi-sync master only after a verified repoint", () => {
    const { d, w, cycle } = setup(true, false);
    w.kill("db1");
    const all = cycle();
    expect(d.state.primary).toBe("db2");
    expect(w.executed.map(describeReq).filter((x) => x.includes("strict"))).toEqual([]);
    const phases = opEventsIn(all).map((e) => e.phase);
    expect(phases).toContain("semi-sync");
    const onDb2 = w.executed.filter((r) => r.server === "db2").map(describeReq);
    expect(onDb2.indexOf("db2 semi master=true slave=-")).toBeGreaterThan(
      onDb2.indexOf("db2 ro=false"),
    );
  });

  it("fences keep semi-sync master on: a returning old primary is fenced with keep, and stays semi-sync", () => {
    const { d, w, cycle } = setup("strict");
    w.write("db1", 1); // only db1 has it: it comes back diverged and is only fenced
    w.kill("db1");
    cycle();
    expect(d.state.primary).toBe("db2");
    w.restart("db1", false);
    w.s("db1").semiMaster = true;
    cycle();
    const fences = w.executed.filter((r) => r.server === "db1" && r.step.kind === "fence");
    expect(fences.length).toBeGreaterThan(0);
    for (const f of fences)
      expect(f.step).toEqual({ kind: "fence", kill: "all", semiSync: "keep" });
    expect(w.s("db1")).toMatchObject({ readOnly: true, semiMaster: true });
  });

  it("without strict, fences carry no semiSync field (what older executors accept)", () => {
    const { w, cycle } = setup(true, false);
    w.write("db1", 1);
    w.kill("db1");
    cycle();
    w.restart("db1", false);
    w.s("db1").semiMaster = true;
    cycle();
    const f = w.executed.find((r) => r.server === "db1" && r.step.kind === "fence");
    expect(f?.step).toEqual({ kind: "fence", kill: "all" });
  });
});

describe("the running primary under strict durability", () => {
  it("is DurabilityWeakened with semi-sync on but a timeout that falls back: tightened once, then quiet", () => {
    const { w, cycle, first } = setup("strict", false);
    const all = [...situationsIn(first), ...situationsIn(cycle()), ...situationsIn(cycle())];
    expect(all.filter((s) => s.startsWith("DurabilityWeakened"))).toEqual([
      "DurabilityWeakened db1",
    ]);
    const strictSteps = w.executed.filter((r) => r.server === "db1").map(describeReq);
    expect(strictSteps).toEqual(["db1 semi master=true slave=- strict"]);
    expect(w.s("db1").semiStrict).toBe(true);
    // Strict now: no more steps, however long.
    for (let i = 0; i < 5; i++) cycle(1000);
    expect(w.executed.filter((r) => r.server === "db1")).toHaveLength(1);
  });

  it("with semi-sync master off it is reported and left alone (turning it on would block writes)", () => {
    const config = makeConfig({ semiSync: "strict" });
    const d = new Driver(config);
    const w = new World(config, T0);
    const cycle = (ms = 500) => {
      d.advance(ms);
      w.advance(ms);
      const a = w.observe(d);
      return [...a, ...w.serve(d, a)];
    };
    const a = cycle(0);
    const b = cycle(1000);
    const events = [...a, ...b].filter(
      (x) => x.kind === "event" && x.event.situation === "DurabilityWeakened",
    );
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0])).toMatch(/semi-sync master off.*left as is/);
    expect(stepsIn([...a, ...b])).toEqual([]);
    expect(w.executed.filter((r) => r.server === "db1")).toEqual([]);
  });

  it("a strict primary, and any primary without strict configured, is not reported", () => {
    for (const [mode, strictPrimary] of [
      ["strict", true],
      [true, false],
      [false, false],
    ] as const) {
      const { w, cycle, first } = setup(mode, strictPrimary);
      const a = [...first, ...cycle(), ...cycle(1000)];
      expect(situationsIn(a).filter((s) => s.startsWith("DurabilityWeakened"))).toEqual([]);
      expect(w.executed.filter((r) => r.server === "db1")).toEqual([]);
    }
  });
});

describe("strict durability when a primary becomes a replica", () => {
  const onServer = (w: World, server: string) =>
    w.executed.filter((r) => r.server === server).map(describeReq);

  it("rejoin: the returned old primary's semi-sync master goes off only inside a fence that kills every session", () => {
    const { d, w, cycle } = setup("strict");
    w.kill("db1");
    cycle();
    expect(d.state.primary).toBe("db2");
    w.restart("db1", false);
    w.s("db1").semiMaster = true;
    const all = [...cycle(), ...cycle()];
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "rejoin", state: "succeeded" });
    const seq = onServer(w, "db1");
    // First the fence that keeps semi-sync (a SUPER write then waits), the positions read,
    // then a fence that kills everything before master off, then the slave side.
    const at = (x: string) => seq.indexOf(x);
    expect(at("db1 fence keep")).toBe(0);
    expect(at("db1 inspect")).toBeGreaterThan(at("db1 fence keep"));
    expect(at("db1 fence")).toBeGreaterThan(at("db1 inspect"));
    expect(at("db1 semi master=- slave=true strict")).toBeGreaterThan(at("db1 fence"));
    expect(seq.filter((x) => x.includes("semi master=false"))).toEqual([]);
    expect(w.s("db1")).toMatchObject({ semiMaster: false, semiSlave: true, readOnly: true });
  });

  it("switchover: the old primary is demoted keeping semi-sync, and leaves it only through a killing fence", () => {
    const { d, w, cycle } = setup("strict");
    const r = d.command("switchover", { target: "db2" });
    const all = [...r, ...w.serve(d, r), ...cycle()];
    expect(opEventsIn(all).at(-1)).toMatchObject({ kind: "switchover", state: "succeeded" });
    const old = onServer(w, "db1");
    expect(old[0]).toBe("db1 fence keep");
    const off = old.indexOf("db1 fence");
    expect(off).toBeGreaterThan(0);
    expect(old[off + 1]).toBe("db1 semi master=- slave=true strict");
    expect(old.filter((x) => x.includes("semi master=false"))).toEqual([]);
    const target = onServer(w, "db2");
    expect(target.indexOf("db2 semi master=true slave=false strict")).toBeLessThan(
      target.indexOf("db2 ro=false"),
    );
    // Another replica is repointed without a fence: its readers are left alone.
    expect(onServer(w, "db3").filter((x) => x.includes("fence"))).toEqual([]);
  });

  it("an undone promotion turns the candidate's semi-sync master off and slave on before it replicates again", () => {
    const { w, cycle } = setup("strict");
    // db3 is writable and cannot be fenced: the write guard refuses to promote db2 after
    // db2's semi step (master on, slave off) was sent, and the failover is undone.
    w.s("db3").readOnly = false;
    w.kill("db1");
    const failFence = (req: ExecRequest, result: ReturnType<World["exec"]>) =>
      req.server === "db3" && req.step.kind === "fence"
        ? errResult(req.stepId, "SQL_ERROR", "1227 denied")
        : result;
    const all = [...cycle(500, failFence), ...cycle(500, failFence), ...cycle(500, failFence)];
    expect(
      opEventsIn(all).find((e) => e.kind === "failover" && e.state === "failed"),
    ).toBeDefined();
    const seq = onServer(w, "db2");
    const promoted = seq.indexOf("db2 semi master=true slave=false strict");
    const undone = seq.indexOf("db2 semi master=false slave=true strict");
    expect(promoted).toBeGreaterThanOrEqual(0);
    expect(seq).not.toContain("db2 ro=false");
    expect(undone).toBeGreaterThan(promoted);
    expect(seq.lastIndexOf("db2 start-replication")).toBeGreaterThan(undone);
    expect(w.s("db2")).toMatchObject({ semiMaster: false, semiSlave: true, readOnly: true });
  });
});
