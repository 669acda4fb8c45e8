// runStep over a real nats-server, against a stand-in executor that takes the step and then
// falls silent: only beats of THIS step keep the step alive. Junk on the beat inbox, or
// another step's beats, must not hide that the executor is gone.
import { type ExecRequest, ExecRequestMessage, parseMessage, subjects } from "@marina/contracts";
import { makeLabDir, type NatsServer, removeTree, startNats } from "@marina/lab";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runStep } from "../src/exec-client.js";
import { natsBus } from "../src/nats-bus.js";

const req: ExecRequest = {
  cluster: "main",
  server: "db2",
  opId: "op-1",
  stepId: "op-1.fence.1",
  epoch: 1,
  step: { kind: "inspect" },
};

describe("runStep and the executor's beats", () => {
  let dir: string;
  let nats: NatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    dir = await makeLabDir();
    nats = await startNats({ dir });
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
    await removeTree(dir);
  });

  /** An "executor" that never answers and sends `beat` to the beat inbox every 50 ms. */
  function silentExecutor(beat: (stepId: string) => string) {
    const timers: NodeJS.Timeout[] = [];
    const sub = nc.subscribe(subjects.exec("main"), {
      callback: (_e, m) => {
        const r = parseMessage(ExecRequestMessage, m.data);
        const to = r.ok ? r.value.payload.beatTo : undefined;
        if (!r.ok || !to) return;
        const stepId = r.value.payload.stepId;
        timers.push(setInterval(() => nc.publish(to, beat(stepId)), 50));
      },
    });
    return () => {
      sub.unsubscribe();
      for (const t of timers) clearInterval(t);
    };
  }

  /** One step against a silent executor beating `beat`; lost after 300 ms of no beats. */
  async function stepAgainst(beat: (stepId: string) => string, timeoutMs: number, log?: Logger) {
    const stop = silentExecutor(beat);
    try {
      return await runStep(natsBus(nc), req, {
        timeoutMs,
        source: "test",
        mayAct: () => true,
        lostAfterMs: 300,
        ...(log ? { log } : {}),
      });
    } finally {
      stop();
    }
  }

  async function lostAfter(beat: (stepId: string) => string) {
    const records: Record<string, unknown>[] = [];
    const log = pino({ level: "warn" }, { write: (l: string) => void records.push(JSON.parse(l)) });
    const started = performance.now();
    const r = await stepAgainst(beat, 8_000, log);
    return { r, ms: performance.now() - started, records };
  }

  it.each([
    ["junk", () => "}{"],
    ["a beat that is not one", () => JSON.stringify({ stepId: 1, executor: ["e1"] })],
    ["another step's beat", () => JSON.stringify({ stepId: "op-0.x.1", executor: "e1" })],
  ])("does not count %s as a beat", async (_label, beat) => {
    const { r, ms, records } = await lostAfter(beat);
    // Never a beat of its own: as far as the decider can tell, nobody took the step.
    expect(r.error?.code).toBe("STEP_NOT_TAKEN");
    expect(ms).toBeLessThan(3_000); // lost within lostAfterMs, not at the 8 s reply timeout
    expect(records.some((l) => l.msg === "invalid beat skipped")).toBe(true);
  });

  it("an executor that beat and then fell silent is EXECUTOR_LOST", async () => {
    let beats = 0;
    const r = await stepAgainst(
      (stepId) => (beats++ < 2 ? JSON.stringify({ stepId, executor: "e1" }) : "}{"),
      8_000,
    );
    expect(r.error?.code).toBe("EXECUTOR_LOST");
    expect(r.error?.message).toMatch(/fell silent/);
  });

  it("with no executor at all: STEP_NOT_TAKEN, after the beat-lost wait, not at once", async () => {
    const started = performance.now();
    const r = await runStep(natsBus(nc), req, {
      timeoutMs: 8_000,
      source: "test",
      mayAct: () => true,
      lostAfterMs: 300,
    });
    expect(r.error?.code).toBe("STEP_NOT_TAKEN");
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
  });

  it("counts the step's own beats", async () => {
    const r = await stepAgainst((stepId) => JSON.stringify({ stepId, executor: "e1" }), 1_500);
    // Still beating at the reply timeout: lost, but only when the reply wait ran out.
    expect(r.error?.message).toMatch(/no executor answered/);
  });
});
