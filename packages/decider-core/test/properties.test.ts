import type { ExecRequest, ExecResult } from "@marina/contracts";
import { parseGtidList, union } from "@marina/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Action, type DeciderState, decide, freshMs, type Input } from "../src/index.js";
import { Driver, errResult, makeConfig, type StepAction, T0 } from "./helpers.js";
import { World } from "./world.js";

// Safety properties over random interleavings of faults, samples, commands, leader changes
// and step results (some failed, some lost, some late) against the simulated cluster.

const SERVERS = ["db1", "db2", "db3"] as const;
const server = fc.constantFrom(...SERVERS);

const Op = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant("observe" as const),
      dt: fc.integer({ min: 0, max: 2500 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("observe-one" as const),
      s: server,
      dt: fc.integer({ min: 0, max: 800 }),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant("serve" as const),
      n: fc.integer({ min: 1, max: 8 }),
      fault: fc.constantFrom(
        "none",
        "none",
        "none",
        "none",
        "none",
        "none",
        "timeout",
        "timeout-applied",
        "unreachable",
        "sql",
        "lost",
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("settle" as const),
      dt: fc.integer({ min: 0, max: 1500 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("write" as const),
      s: server,
      n: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("flow" as const),
      s: fc.option(server, { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("kill" as const), s: server }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("restart" as const), s: server, readOnly: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("freeze" as const), s: server }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("hide" as const), s: server, on: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("cmd" as const),
      verb: fc.constantFrom(
        "switchover",
        "switchover",
        "failover",
        "rejoin",
        "set-maintenance",
        "clear-maintenance",
        "reset-failover-limits",
        "cancel",
        "status",
      ),
      s: server,
      withTarget: fc.boolean(),
      force: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("tick" as const),
      dt: fc.integer({ min: 0, max: 20_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("leader" as const), leader: fc.boolean() }) },
);
type Op = typeof Op extends fc.Arbitrary<infer T> ? T : never;

interface Told {
  reachableAt: number | null;
  unreachableAt: number | null;
  writable: boolean;
}

/** A driver that checks the safety properties on every decide() call. */
class Checked extends Driver {
  pending: StepAction[] = [];
  told: Record<string, Told> = {};
  /** Inspect data answered per operation, per server. */
  inspected: Record<string, Record<string, Record<string, unknown>>> = {};
  violations: string[] = [];
  calls = 0;
  private opKind: Record<string, string> = {};
  private opFailed: Record<string, string> = {};

  constructor(
    config: ReturnType<typeof makeConfig>,
    readonly world: World,
  ) {
    super(config, { enforceRetryMs: 1000 });
    this.validate = false;
  }

  private t(s: string): Told {
    this.told[s] ??= { reachableAt: null, unreachableAt: null, writable: false };
    return this.told[s]!;
  }

  private reachableNow(s: string): boolean {
    const t = this.t(s);
    return (
      t.reachableAt !== null &&
      this.now - t.reachableAt <= freshMs(this.config) &&
      t.reachableAt > (t.unreachableAt ?? Number.NEGATIVE_INFINITY)
    );
  }

  override feed(input: Input): Action[] {
    this.calls += 1;
    const before: DeciderState = this.state;
    const ctx = this.ctx();
    // What the decider is told, as the checker understands it.
    if (input.kind === "health") {
      const t = this.t(input.sample.server);
      if (input.sample.reachable) {
        t.reachableAt = this.now;
        t.writable = input.sample.observation?.readOnly === false;
      } else t.unreachableAt = this.now;
    }
    const issued: string[] = [];
    const r = decide(before, input, {
      ...ctx,
      newOpId: () => {
        const id = ctx.newOpId();
        issued.push(id);
        return id;
      },
    });
    // Determinism: the same arguments (and the same fresh ids) give the same result.
    if (this.calls % 7 === 0) {
      let i = 0;
      const again = decide(before, input, { ...ctx, newOpId: () => issued[i++] ?? "extra" });
      if (JSON.stringify(again) !== JSON.stringify(r))
        this.violations.push(`non-deterministic on ${input.kind}`);
    }
    // The input state is not modified.
    if (this.calls % 5 === 0 && JSON.stringify(before) !== JSON.stringify(this.state)) {
      this.violations.push("input state mutated");
    }
    this.state = r.state;
    this.log.push(...r.actions);
    // JSON round trip.
    try {
      expect(JSON.parse(JSON.stringify(r.state))).toStrictEqual(r.state);
    } catch {
      this.violations.push("state is not JSON round-trippable");
    }
    this.check(r.actions, ctx);
    return r.actions;
  }

  check(actions: Action[], ctx: { leader: boolean; epoch: number }) {
    for (const a of actions) {
      if (!ctx.leader && (a.kind === "step" || a.kind === "operation" || a.kind === "topology")) {
        this.violations.push(`non-leader emitted ${a.kind}`);
      }
      if (a.kind === "operation") {
        this.opKind[a.event.opId] = a.event.kind;
        this.opFailed[a.event.opId] = a.event.servers.failed ?? "";
      }
      if (a.kind !== "step") continue;
      if (a.request.epoch !== ctx.epoch)
        this.violations.push(`step with epoch ${a.request.epoch} != ${ctx.epoch}`);
      const step = a.request.step;
      const x = a.request.server;
      if (step.kind === "set-read-only" && !step.readOnly) {
        for (const y of SERVERS) {
          if (y !== x && this.t(y).writable && this.reachableNow(y)) {
            this.violations.push(
              `made ${x} writable while ${y} is reachable and writable (${a.reason})`,
            );
          }
        }
        this.t(x).writable = true;
        if (this.opKind[a.request.opId] === "failover") this.checkNothingLost(a.request);
      }
      this.pending.push(a);
    }
  }

  /**
   * The new primary holds every transaction of the failed primary's that the live replicas
   * it inspected had received. A replica's own writes (errant: written on it while it was
   * wrongly writable) are not the failed primary's: they are saved, not promoted.
   */
  private checkNothingLost(req: ExecRequest) {
    const seen = this.inspected[req.opId] ?? {};
    const promoted = this.world.s(req.server);
    const failedName = this.opFailed[req.opId];
    const failedHad = new Set(failedName ? this.world.s(failedName).applied : []);
    const failedPort = this.world.config.servers.find((s) => s.name === failedName)?.port;
    for (const [r, data] of Object.entries(seen)) {
      if (r === req.server) continue;
      // "Another live replica": a server replicating from the failed primary.
      const repl = (data.replication as { gtidIoPos: string; masterPort: number }[]) ?? [];
      const toFailed = repl.filter((c) => c.masterPort === failedPort);
      if (toFailed.length === 0) continue;
      // Per domain and server id (not only each domain's last GTID: an errant one last in
      // its domain must not hide the failed primary's before it).
      const received = union(
        ...toFailed.map((c) => parseGtidList(c.gtidIoPos)),
        parseGtidList(String(data.gtidCurrentPos ?? "")),
      );
      for (const g of received) {
        const text = `${g.domain}-${g.server}-${g.seq}`;
        if (!failedHad.has(text)) continue;
        if (!promoted.applied.includes(text)) {
          this.violations.push(`promoted ${req.server} without ${text} that ${r} had received`);
        }
      }
    }
  }

  answer(a: StepAction, result: ExecResult) {
    const t = this.t(a.request.server);
    if (result.ok) {
      t.reachableAt = this.now;
      const s = a.request.step;
      if ((s.kind === "set-read-only" && s.readOnly) || s.kind === "fence") t.writable = false;
      if (s.kind === "inspect") {
        t.writable = result.data.readOnly === false;
        this.inspected[a.request.opId] ??= {};
        this.inspected[a.request.opId]![a.request.server] = result.data;
      }
    }
    this.feed({ kind: "step-result", opId: a.request.opId, stepId: a.request.stepId, result });
  }
}

function run(ops: Op[], leader = true) {
  const config = makeConfig({ failover: { cooldownMs: 5_000 } });
  const w = new World(config, T0);
  const d = new Checked(config, w);
  d.leader = leader;
  const pass = (ms: number) => {
    d.advance(ms);
    w.advance(ms);
  };
  w.observe(d);
  let requests = 0;
  for (const op of ops) {
    switch (op.t) {
      case "observe":
        pass(op.dt);
        w.observe(d);
        break;
      case "observe-one":
        pass(op.dt);
        d.feed({ kind: "health", sample: w.sampleOf(op.s) });
        break;
      case "serve":
        for (let i = 0; i < op.n && d.pending.length; i++) {
          const a = d.pending.shift()!;
          pass(1);
          if (op.fault === "lost") continue;
          if (op.fault === "none" || op.fault === "timeout-applied") {
            const r = w.exec(a.request);
            d.answer(
              a,
              op.fault === "none"
                ? r
                : errResult(a.request.stepId, "TIMEOUT", "reply lost after it ran"),
            );
          } else {
            const code =
              op.fault === "timeout"
                ? "TIMEOUT"
                : op.fault === "unreachable"
                  ? "SERVER_UNREACHABLE"
                  : "SQL_ERROR";
            d.answer(a, errResult(a.request.stepId, code));
          }
        }
        break;
      case "settle":
        // Everything in flight is answered, samples flow: operations run to their end.
        for (let round = 0; round < 6; round++) {
          pass(op.dt);
          w.flow();
          w.observe(d);
          let guard = 0;
          while (d.pending.length && guard++ < 200) {
            const a = d.pending.shift()!;
            pass(1);
            d.answer(a, w.exec(a.request));
          }
        }
        break;
      case "write":
        w.write(op.s, op.n);
        break;
      case "flow":
        if (op.s) w.flowOn(op.s);
        else w.flow();
        break;
      case "kill":
        w.kill(op.s);
        break;
      case "restart":
        w.restart(op.s, op.readOnly);
        break;
      case "freeze":
        w.freeze(op.s);
        break;
      case "hide":
        if (op.on) w.hidden.add(op.s);
        else w.hidden.delete(op.s);
        break;
      case "cmd": {
        requests += 1;
        const payload: Record<string, unknown> =
          op.verb === "switchover" || op.verb === "failover"
            ? { ...(op.withTarget ? { target: op.s } : {}), force: op.force }
            : op.verb === "rejoin" ||
                op.verb === "set-maintenance" ||
                op.verb === "clear-maintenance"
              ? { server: op.s }
              : op.verb === "cancel"
                ? { opId: d.state.operation?.opId ?? "op1" }
                : {};
        d.command(op.verb, payload, `r${requests}`);
        break;
      }
      case "tick":
        pass(op.dt);
        d.feed({ kind: "tick" });
        break;
      case "leader": {
        if (op.leader === d.leader) break;
        d.leader = op.leader;
        if (op.leader) {
          // A new leader: higher epoch, state from the store, in-flight steps sent again.
          d.epoch += 1;
          d.state = JSON.parse(JSON.stringify(d.state));
          d.pending = [];
          d.feed({ kind: "resume" });
        }
        break;
      }
      default: {
        const never: never = op;
        throw new Error(String(never));
      }
    }
  }
  return d;
}

// DC_RUNS=5000 for a long hunt; the default keeps the unit suite quick.
const RUNS = Number(process.env.DC_RUNS ?? 200);
// DC_SEED=<n> replays a failure fast-check reported (with its seed), DC_PATH=<path> its
// shrunk case.
if (process.env.DC_SEED) {
  fc.configureGlobal({
    seed: Number(process.env.DC_SEED),
    ...(process.env.DC_PATH ? { path: process.env.DC_PATH } : {}),
  });
}
const TIMEOUT = 60_000 + RUNS * 100;
describe("decide: safety properties (fast-check)", () => {
  it(
    "hold over random interleavings of faults, commands, leader changes and step results",
    () => {
      fc.assert(
        fc.property(fc.array(Op, { minLength: 5, maxLength: 60 }), (ops) => {
          const d = run(ops);
          expect(d.violations).toEqual([]);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    "a primary that dies after uneven replication: the new primary has what any live replica received",
    () => {
      const Prefix = fc.array(
        fc.oneof(
          fc.record({
            t: fc.constant("write" as const),
            s: fc.constant("db1" as const),
            n: fc.integer({ min: 1, max: 4 }),
          }),
          fc.record({
            t: fc.constant("flow" as const),
            s: fc.constantFrom("db2" as const, "db3" as const),
          }),
        ),
        { minLength: 1, maxLength: 8 },
      );
      fc.assert(
        fc.property(
          Prefix,
          fc.constantFrom("kill" as const, "freeze" as const),
          fc.array(Op, { maxLength: 25 }),
          (prefix, fault, noise) => {
            const d = run([
              ...prefix,
              { t: fault, s: "db1" },
              ...noise,
              { t: "settle", dt: 1000 },
              { t: "settle", dt: 1000 },
            ]);
            expect(d.violations).toEqual([]);
          },
        ),
        { numRuns: Math.ceil(RUNS / 2) },
      );
    },
    TIMEOUT,
  );

  it(
    "a non-leader never emits steps, operations or topology",
    () => {
      fc.assert(
        fc.property(fc.array(Op, { minLength: 5, maxLength: 40 }), (ops) => {
          const d = run(
            ops.filter((o) => o.t !== "leader"),
            false,
          );
          expect(
            d.log.filter(
              (a) => a.kind === "step" || a.kind === "operation" || a.kind === "topology",
            ),
          ).toEqual([]);
          expect(d.violations).toEqual([]);
        }),
        { numRuns: Math.ceil(RUNS / 3) },
      );
    },
    TIMEOUT,
  );

  it("the checkers can fail: they flag a second writable server and a lost transaction", () => {
    const config = makeConfig();
    const w = new World(config, T0);
    const d = new Checked(config, w);
    w.observe(d); // db1 reachable and writable
    const makeWritable = (server: string, opId: string): StepAction => ({
      kind: "step",
      reason: "test",
      timeoutMs: 1,
      request: {
        cluster: "main",
        server,
        opId,
        stepId: `${opId}-1`,
        epoch: 1,
        step: { kind: "set-read-only", readOnly: false },
      },
    });
    d.check([makeWritable("db2", "x")], { leader: true, epoch: 1 });
    expect(d.violations.join()).toMatch(/made db2 writable while db1 is reachable and writable/);
    d.violations = [];
    d.check([makeWritable("db2", "x")], { leader: true, epoch: 2 });
    expect(d.violations.join()).toMatch(/epoch 1 != 2/);
    d.violations = [];
    d.check([makeWritable("db2", "x")], { leader: false, epoch: 1 });
    expect(d.violations.join()).toMatch(/non-leader emitted step/);
    // A failover that promotes db2 although db3 had received more.
    w.write("db1", 2);
    w.flowOn("db3");
    d.inspected.y = {
      db3: w.exec({
        cluster: "main",
        server: "db3",
        opId: "y",
        stepId: "y-0",
        epoch: 1,
        step: { kind: "inspect" },
      }).data,
    };
    d.check(
      [
        {
          kind: "operation",
          reason: "t",
          event: { opId: "y", kind: "failover", servers: { failed: "db1" } } as never,
        },
      ],
      {
        leader: true,
        epoch: 1,
      },
    );
    d.violations = [];
    w.kill("db1");
    d.told.db1 = { reachableAt: null, unreachableAt: d.now, writable: false };
    d.told.db2 = { reachableAt: null, unreachableAt: null, writable: false };
    d.check([makeWritable("db2", "y")], { leader: true, epoch: 1 });
    expect(d.violations.join()).toMatch(/promoted db2 without 0-1-12 that db3 had received/);
  });
});
