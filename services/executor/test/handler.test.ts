import { ExecResultMessage, MarinaError } from "@marina/contracts";
import { LeaseFence, StaticLeaseSource } from "@marina/lease-fence";
import { describe, expect, it } from "vitest";
import { DEFAULT_OPTIONS, type HandlerDeps, handleExecRequest } from "../src/handler.js";
import { resolveClusters } from "../src/targets.js";
import { ScriptedSession, scriptedConnector } from "./fake-session.js";
import { CONFIG, ENV, execPayload, FakeClock, request, silentLog } from "./fixtures.js";

function deps(connect = scriptedConnector(() => new ScriptedSession(() => [{ read_only: 0 }]))) {
  const clock = new FakeClock();
  const d: HandlerDeps = {
    id: "e-test",
    clusters: resolveClusters(CONFIG, ENV),
    // The leader lease of "main" is at epoch 1 (what execPayload carries).
    fence: new LeaseFence(new StaticLeaseSource({ main: 1 }), () => clock.now()),
    connect,
    clock,
    log: silentLog,
    options: DEFAULT_OPTIONS,
    ask: async () => [],
  };
  return { d, connect };
}

describe("handleExecRequest", () => {
  it("runs a step and replies with a valid exec-result envelope", async () => {
    const { d, connect } = deps();
    const r = await handleExecRequest(
      d,
      "main",
      request(execPayload({ step: { kind: "set-read-only", readOnly: true } })),
    );
    expect(ExecResultMessage.safeParse(r).success).toBe(true);
    expect(r.source).toBe("executor:e-test");
    expect(r.payload).toMatchObject({
      stepId: "s1",
      ok: true,
      executor: "e-test",
      error: null,
      data: { readOnly: true, previous: false, changed: true },
    });
    expect(connect.calls).toBe(1);
  });

  it.each([
    ["malformed", request(execPayload({ epoch: "x" })), "VALIDATION_FAILED", "payload.epoch"],
    ["unknown server", request(execPayload({ server: "zz" })), "UNKNOWN_SERVER", "payload.server"],
    [
      "unknown cluster",
      request(execPayload({ cluster: "zz" })),
      "UNKNOWN_CLUSTER",
      "payload.cluster",
    ],
    ["not JSON", "}{", "BAD_JSON", undefined],
  ])("answers a %s request without connecting", async (_name, body, code, path) => {
    const { d, connect } = deps();
    const r = await handleExecRequest(d, "main", body);
    expect(ExecResultMessage.safeParse(r).success).toBe(true);
    expect(r.payload.ok).toBe(false);
    expect(r.payload.error?.code).toBe(code);
    expect(r.payload.error?.path).toBe(path);
    expect(connect.calls).toBe(0);
  });

  it.each([
    ["below", 0, "STALE_EPOCH", false],
    ["above", 2, "FUTURE_EPOCH", true],
    ["far above", Number.MAX_SAFE_INTEGER, "FUTURE_EPOCH", true],
  ])("refuses an epoch %s the lease without connecting", async (_n, epoch, code, retryable) => {
    const { d, connect } = deps();
    const r = await handleExecRequest(d, "main", request(execPayload({ epoch, stepId: "s2" })));
    expect(r.payload).toMatchObject({
      stepId: "s2",
      ok: false,
      data: { currentEpoch: 1 },
      error: { code, path: "payload.epoch", retryable },
    });
    expect(connect.calls).toBe(0);
    // Nothing was learnt: the leader's epoch still runs.
    expect((await handleExecRequest(d, "main", request(execPayload()))).payload.ok).toBe(true);
    expect(connect.calls).toBe(1);
  });

  it("refuses every epoch, retryably, for a cluster without a lease", async () => {
    const { d, connect } = deps();
    const r = await handleExecRequest(
      d,
      "other",
      request(execPayload({ cluster: "other", server: "x1" })),
    );
    expect(r.payload).toMatchObject({
      ok: false,
      data: {},
      error: { code: "LEASE_UNAVAILABLE", retryable: true },
    });
    expect(connect.calls).toBe(0);
  });

  it("reports an unreachable server as retryable and keeps going", async () => {
    const connect = Object.assign(
      async () => {
        throw new MarinaError("SERVER_UNREACHABLE", "db2 (127.0.0.1:3312): connect ECONNREFUSED");
      },
      { calls: 0 },
    );
    const { d } = deps(connect);
    const r = await handleExecRequest(d, "main", request(execPayload()));
    expect(r.payload.error).toMatchObject({ code: "SERVER_UNREACHABLE", retryable: true });
  });

  it("closes the session after the step, also when it fails", async () => {
    const sessions: ScriptedSession[] = [];
    const connect = scriptedConnector(() => {
      const s = new ScriptedSession(() => {
        throw new MarinaError("SQL_ERROR", "db2: error 1227: denied");
      });
      sessions.push(s);
      return s;
    });
    const { d } = deps(connect);
    const r = await handleExecRequest(d, "main", request(execPayload()));
    expect(r.payload.error?.code).toBe("SQL_ERROR");
    expect(sessions[0]?.closed).toBe(true);
  });
});
