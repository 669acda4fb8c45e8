// The executor's hook steps with real processes: /bin/sh scripts in a temp dir stand in for
// the hook programs (the executor itself runs them with an argument array, no shell).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ExecResultMessage,
  envelope,
  HOOK_OUTPUT_MAX,
  type HookContext,
  HooksSettings,
} from "@marina/contracts";
import { LeaseFence, StaticLeaseSource } from "@marina/lease-fence";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_OPTIONS, handleExecRequest } from "../src/handler.js";
import { askVeto, readVetoReply, vetoOutcome } from "../src/hooks/ask-veto.js";
import type { HostStepContext } from "../src/hooks/host-steps.js";
import { runHook } from "../src/hooks/run-hook.js";
import { resolveClusters } from "../src/targets.js";
import { scriptedConnector } from "./fake-session.js";
import { CONFIG, ENV, FakeClock, request, silentLog } from "./fixtures.js";

let dir: string;
const script = (name: string, body: string) => {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
};

const CONTEXT: HookContext = {
  operation: "failover",
  trigger: "automatic",
  forced: false,
  oldPrimary: "db1",
  newPrimary: "db2",
  reason: "primary db1 failed",
  result: null,
  error: null,
};

/** The fixtures' cluster "main" with these hooks. */
function cluster(hooks: Record<string, unknown>) {
  const main = { ...CONFIG.clusters[0]!, hooks: HooksSettings.parse(hooks) };
  return resolveClusters({ ...CONFIG, clusters: [main] }, ENV);
}

function ctx(hooks: Record<string, unknown>, ask: HostStepContext["ask"] = async () => []) {
  return {
    cluster: cluster(hooks).get("main")!,
    request: {
      cluster: "main",
      server: "db2",
      opId: "op7",
      stepId: "s1",
      epoch: 1,
      step: { kind: "inspect" as const },
    },
    log: silentLog,
    source: "executor:e1",
    ask,
  } satisfies HostStepContext;
}

const run = (hooks: Record<string, unknown>, timeoutMs = 5_000) =>
  runHook(ctx(hooks), { kind: "run-hook", hook: "preFailover", timeoutMs, context: CONTEXT });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "marina-hook-test-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("run-hook", () => {
  it("exit 0: ok, with its output and Marina's variables, nothing of the executor's environment", async () => {
    process.env.MARINA_TEST_SECRET_PW = "do-not-leak";
    const hook = script("env.sh", 'echo "args: $*"; env');
    const out = await run({
      preFailover: { argv: [hook, "a b", "$HOME"], env: { SITE: "eu-1" } },
    });
    delete process.env.MARINA_TEST_SECRET_PW;
    expect(out).toMatchObject({ hook: "preFailover", exitCode: 0, timedOut: false, signal: null });
    const stdout = String(out.stdout);
    // Arguments as they are: no shell expanded "$HOME" or split "a b".
    expect(stdout).toContain("args: a b $HOME");
    for (const line of [
      "MARINA_CLUSTER=main",
      "MARINA_OPERATION_ID=op7",
      "MARINA_HOOK=preFailover",
      "MARINA_KIND=failover",
      "MARINA_TRIGGER=automatic",
      "MARINA_OLD_PRIMARY=db1",
      "MARINA_NEW_PRIMARY=db2",
      "MARINA_REASON=primary db1 failed",
      "MARINA_RESULT=",
      "SITE=eu-1",
    ]) {
      expect(stdout).toContain(line);
    }
    expect(stdout).not.toContain("do-not-leak");
    expect(stdout).not.toContain("admin-secret");
  });

  it.each([
    { what: "a non-zero exit", body: "echo nope >&2; exit 3", msg: /exited 3/, exitCode: 3 },
    { what: "a signal", body: "kill -TERM $$", msg: /killed by SIGTERM/, exitCode: null },
  ])("$what: HOOK_FAILED with its output", async ({ body, msg, exitCode }) => {
    const hook = script(`fail-${exitCode}.sh`, body);
    const err = await run({ preFailover: { argv: [hook] } }).then(
      () => null,
      (e: unknown) => e as { code: string; message: string; data: Record<string, unknown> },
    );
    expect(err?.code).toBe("HOOK_FAILED");
    expect(err?.message).toMatch(msg);
    expect(err?.data.exitCode).toBe(exitCode);
    if (exitCode === 3) expect(err?.data.stderr).toBe("nope\n");
  });

  it("a timeout kills its whole process group", async () => {
    const pidFile = join(dir, "child.pid");
    const hook = script("slow.sh", `sleep 30 & echo $! > ${pidFile}; echo started; wait`);
    const started = Date.now();
    const err = await run({ preFailover: { argv: [hook], timeoutMs: 300 } }).then(
      () => null,
      (e: unknown) => e as { code: string; message: string; data: Record<string, unknown> },
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err?.code).toBe("HOOK_FAILED");
    expect(err?.message).toMatch(/killed at its timeout \(300 ms\)/);
    expect(err?.data).toMatchObject({ timedOut: true, stdout: "started\n" });
    const child = Number(readFileSync(pidFile, "utf8"));
    await new Promise((r) => setTimeout(r, 100));
    // Gone, or a zombie waiting for whoever reaps orphans here (a container's init may not).
    let state = "gone";
    try {
      state = readFileSync(`/proc/${child}/stat`, "utf8").split(") ")[1]?.[0] ?? "gone";
    } catch {}
    expect(["gone", "Z"]).toContain(state);
  });

  it("keeps HOOK_OUTPUT_MAX bytes of output and counts the rest", async () => {
    const hook = script("loud.sh", "head -c 10000 /dev/zero | tr '\\0' x");
    const out = await run({ preFailover: { argv: [hook] } });
    expect(String(out.stdout)).toHaveLength(HOOK_OUTPUT_MAX);
    expect(out.truncatedBytes).toBe(10_000 - HOOK_OUTPUT_MAX);
  });

  it("a program that cannot start, or a hook this executor lacks: HOOK_FAILED", async () => {
    await expect(run({ preFailover: { argv: [join(dir, "missing")] } })).rejects.toMatchObject({
      code: "HOOK_FAILED",
      message: expect.stringMatching(/could not start: ENOENT/),
    });
    await expect(run({})).rejects.toMatchObject({
      code: "HOOK_FAILED",
      message: expect.stringMatching(/not configured/),
    });
  });

  it("a NUL byte in an environment value is dropped; one in an argument is a spawn error", async () => {
    const hook = script("reason.sh", 'echo "reason=$MARINA_REASON"');
    const out = await runHook(ctx({ preFailover: { argv: [hook] } }), {
      kind: "run-hook",
      hook: "preFailover",
      timeoutMs: 5_000,
      context: { ...CONTEXT, reason: "from\u0000a command" },
    });
    expect(out).toMatchObject({ exitCode: 0, stdout: "reason=froma command\n" });
    await expect(run({ preFailover: { argv: [hook, "a\u0000b"] } })).rejects.toMatchObject({
      code: "HOOK_FAILED",
      message: expect.stringMatching(/could not start: ERR_INVALID_ARG_VALUE/),
    });
  });

  it("the handler runs it without opening a database connection", async () => {
    const hook = script("ok.sh", "exit 0");
    const connect = scriptedConnector(() => {
      throw new Error("no database for a hook");
    });
    const clock = new FakeClock();
    const r = await handleExecRequest(
      {
        id: "e1",
        clusters: cluster({ preFailover: { argv: [hook] } }),
        fence: new LeaseFence(new StaticLeaseSource({ main: 1 }), () => clock.now()),
        connect,
        clock,
        log: silentLog,
        options: DEFAULT_OPTIONS,
        ask: async () => [],
      },
      "main",
      request({
        cluster: "main",
        server: "db1",
        opId: "op1",
        stepId: "s1",
        epoch: 1,
        step: { kind: "run-hook", hook: "preFailover", timeoutMs: 2_000, context: CONTEXT },
      }),
    );
    expect(ExecResultMessage.parse(r).payload).toMatchObject({ ok: true, data: { exitCode: 0 } });
    expect(connect.calls).toBe(0);
  });
});

describe("ask-veto", () => {
  const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

  it.each([
    { what: "a bare reply", raw: { veto: true, reason: "r", responder: "a" }, ok: true },
    {
      what: "an envelope",
      raw: envelope("veto-reply", "x", { veto: false, responder: "b" }),
      ok: true,
    },
    { what: "no responder", raw: { veto: true }, ok: false },
    { what: "an unknown key", raw: { veto: true, responder: "a", x: 1 }, ok: false },
    { what: "not JSON", raw: null, ok: false },
  ])("reads $what: valid $ok", ({ raw, ok }) => {
    const data = raw === null ? new TextEncoder().encode("{") : bytes(raw);
    expect(readVetoReply(data) !== null).toBe(ok);
  });

  it.each([
    { replies: [], required: false, vetoed: false },
    { replies: [], required: true, vetoed: true },
    { replies: [{ veto: false, responder: "a", reason: "" }], required: true, vetoed: false },
    {
      replies: [
        { veto: false, responder: "a", reason: "" },
        { veto: true, responder: "b", reason: "freeze" },
      ],
      required: false,
      vetoed: true,
    },
    { replies: [null], required: true, vetoed: true },
    // A veto after 64 consents still counts (only the report is capped).
    {
      replies: [
        ...Array.from({ length: 70 }, (_, i) => ({ veto: false, responder: `r${i}`, reason: "" })),
        { veto: true, responder: "late", reason: "freeze" },
      ],
      required: false,
      vetoed: true,
    },
  ])(
    "$replies.length replies, required $required → vetoed $vetoed",
    ({ replies, required, vetoed }) => {
      expect(vetoOutcome(replies, required).vetoed).toBe(vetoed);
    },
  );

  it("reports at most 64 replies, the vetoes among them", () => {
    const consents = Array.from({ length: 70 }, (_, i) => ({
      veto: false,
      responder: `r${i}`,
      reason: "",
    }));
    const o = vetoOutcome([...consents, { veto: true, responder: "late", reason: "x" }], false);
    expect(o.replies).toHaveLength(64);
    expect(o.replies[0]).toMatchObject({ responder: "late", veto: true });
    expect(o.reason).toBe("late: x");
  });

  it("asks the veto subject with the planned operation; a veto is VETOED with the replies", async () => {
    const asked: { subject: string; body: Record<string, unknown>; timeoutMs: number }[] = [];
    const c = ctx({}, async (subject, data, timeoutMs) => {
      asked.push({ subject, body: JSON.parse(new TextDecoder().decode(data)), timeoutMs });
      return [bytes({ veto: true, reason: "release running", responder: "ci" })];
    });
    const step = {
      kind: "ask-veto" as const,
      operation: "failover" as const,
      timeoutMs: 700,
      required: false,
      context: CONTEXT,
    };
    await expect(askVeto(c, step)).rejects.toMatchObject({
      code: "VETOED",
      message: "vetoed on marina.v1.main.veto.failover: ci: release running",
      data: { vetoed: true, invalid: 0 },
    });
    expect(asked[0]).toMatchObject({
      subject: "marina.v1.main.veto.failover",
      timeoutMs: 700,
      body: {
        type: "veto-request",
        source: "executor:e1",
        payload: { cluster: "main", opId: "op7", oldPrimary: "db1", newPrimary: "db2" },
      },
    });
  });
});
