import { describe, expect, it } from "vitest";
import { Driver, eventsIn, makeConfig, T0 } from "./helpers.js";
import { World } from "./world.js";

// Whole cluster down (issue 18): Marina waits for the last primary, and promotes only a
// server holding every transaction the last primary was seen to have — or, losing some, on
// an operator's failover with acceptLoss, or under failover.allDown that names the risk.

function setup(allDown?: string) {
  const config = makeConfig({ failover: allDown ? { allDown } : {} });
  const d = new Driver(config);
  const w = new World(config, T0);
  const cycle = (ms = 500) => {
    d.advance(ms);
    w.advance(ms);
    const a = w.observe(d);
    return [...a, ...w.serve(d, a)];
  };
  cycle(0);
  cycle();
  expect(d.state.primary).toBe("db1");
  return { config, d, w, cycle };
}

/** db1 commits `n` transactions its replicas never receive, is seen so, then all three die. */
function allDie(s: ReturnType<typeof setup>, n: number) {
  const { w, cycle } = s;
  w.write("db1", 10);
  w.flow();
  w.write("db1", n); // not flowed: only db1 has these
  cycle();
  for (const x of ["db1", "db2", "db3"]) w.kill(x);
  const all = [...cycle(), ...cycle()];
  return all;
}

const blocked = (actions: ReturnType<Driver["feed"]>) =>
  eventsIn(actions).filter((e) => e.situation === "FailoverBlocked");

describe("the whole cluster down", () => {
  it("reports it, and waits for the last primary while the server back lacks its writes", () => {
    const s = setup();
    const { d, w, cycle } = s;
    const down = allDie(s, 3);
    const ev = eventsIn(down).find((e) => e.situation === "AllServersDown");
    expect(ev?.reason).toMatch(/waiting for the last primary db1, last seen with 0-1-23/);
    expect(d.state.allDown).toMatchObject({ primary: "db1", primaryGtid: "0-1-23" });

    w.restart("db2", true);
    w.restart("db3", true);
    const after = [...cycle(), ...cycle(), ...cycle()];
    expect(d.state.primary).toBe("db1");
    expect(d.state.operation).toBeNull();
    const b = blocked(after);
    expect(b).toHaveLength(1);
    expect(b[0]?.details.code).toBe("all-down");
    expect(b[0]?.reason).toMatch(
      /db2 has 0-1-20, lacking transactions up to 0-1-23 that the last primary db1 was last seen/,
    );

    // The last primary comes back: it is the primary again, nothing was promoted. The
    // rule holds until a replica has caught up with it.
    w.restart("db1", true);
    for (let i = 0; i < 4; i++) cycle();
    expect(d.state.primary).toBe("db1");
    expect(w.s("db1").readOnly).toBe(false);
    expect(d.state.allDown).not.toBeNull();
    w.flow();
    cycle();
    expect(d.state.allDown).toBeNull();
    expect(d.state.failovers).toEqual([]);
  });

  it("a last primary back for a moment and dead again (a crash loop) still holds the rule", () => {
    const s = setup();
    const { d, w, cycle } = s;
    allDie(s, 3);
    w.restart("db2", true);
    w.restart("db3", true);
    cycle();
    w.restart("db1", true);
    cycle();
    w.kill("db1");
    const after = [...cycle(), ...cycle(), ...cycle()];
    expect(d.state.primary).toBe("db1");
    expect(d.state.operation).toBeNull();
    expect(blocked(after).map((e) => e.details.code)).toContain("all-down");
  });

  it("promotes a server that pulls what it lacks from another one back", () => {
    // db3 (in another datacenter, excluded) holds everything; db2 pulls it first.
    const config = makeConfig({
      servers: [
        { name: "db1", datacenter: "a" },
        { name: "db2", datacenter: "a" },
        { name: "db3", datacenter: "b" },
      ],
      failover: { crossDatacenter: "never" },
    });
    const d = new Driver(config);
    const w = new World(config, T0);
    const cycle = (ms = 500) => {
      d.advance(ms);
      w.advance(ms);
      const a = w.observe(d);
      return [...a, ...w.serve(d, a)];
    };
    cycle(0);
    cycle();
    w.write("db1", 10);
    w.flow();
    w.s("db2").conns[0]!.io = false;
    w.write("db1", 3);
    w.flow(); // db3 gets them, db2 does not
    w.s("db2").conns[0]!.io = true;
    cycle();
    for (const x of ["db1", "db2", "db3"]) w.kill(x);
    cycle();
    cycle();
    expect(d.state.allDown).not.toBeNull();
    w.restart("db2", true);
    w.restart("db3", true);
    for (let i = 0; i < 5; i++) cycle();
    expect(d.state.primary).toBe("db2");
  });

  it("promotes a server back that holds everything the last primary had", () => {
    const s = setup();
    const { d, w, cycle } = s;
    allDie(s, 0);
    w.restart("db2", true);
    for (let i = 0; i < 4; i++) cycle();
    expect(d.state.primary).toBe("db2");
    expect(d.state.allDown).toBeNull();
  });

  it("an operator's failover: refused naming what is lost, done with acceptLoss", () => {
    const s = setup();
    const { d, w, cycle } = s;
    allDie(s, 3);
    w.restart("db2", true);
    w.restart("db3", true);
    cycle();
    cycle();
    const dry = d.command("failover", { dryRun: true, acceptLoss: true }, "r0");
    const r0 = dry.find((a) => a.kind === "reply");
    expect(r0?.kind === "reply" && r0.reply.ok).toBe(true);
    const refused = d.command("failover", {}, "r1");
    const r1 = refused.find((a) => a.kind === "reply");
    expect(r1?.kind === "reply" && r1.reply).toMatchObject({
      ok: false,
      error: {
        code: "WOULD_LOSE_WRITES",
        message: expect.stringMatching(/lacking transactions up to 0-1-23.*acceptLoss/),
      },
    });
    const accepted = d.command("failover", { acceptLoss: true }, "r2");
    const r2 = accepted.find((a) => a.kind === "reply");
    expect(r2?.kind === "reply" && r2.reply.ok && r2.reply.message).toMatch(
      /acceptLoss: 0-1-23 of db1 will be lost/,
    );
    w.serve(d, accepted);
    for (let i = 0; i < 4; i++) cycle();
    expect(d.state.primary).toBe("db2");
    expect(d.state.allDown).toBeNull();
  });

  it("fails over to the most advanced server back under failover.allDown that names the risk", () => {
    const s = setup("promoteMostAdvancedMayLoseWrites");
    const { d, w, cycle } = s;
    allDie(s, 3);
    w.restart("db3", true);
    for (let i = 0; i < 4; i++) cycle();
    expect(d.state.primary).toBe("db3");
  });

  it("without the whole cluster down, the same failover is not held (the rule can fail)", () => {
    const s = setup();
    const { d, w, cycle } = s;
    w.write("db1", 10);
    w.flow();
    w.write("db1", 3);
    cycle();
    w.kill("db1");
    for (let i = 0; i < 4; i++) cycle();
    expect(d.state.allDown ?? null).toBeNull();
    expect(d.state.primary).toBe("db2");
  });
});
