// The deciders' HTTP API end to end: a real lab (3 mariadbd), NATS with Marina's
// identities and permissions, monitor, executors and two deciders each serving the API on
// a real socket. The proxy health check answers 200 for the writer only, on the leader and
// on the follower; a dry-run changes nothing; a switchover through the follower's API
// needs a token, runs, is recorded under the token's name, and the SSE stream delivers the
// new topology; the health checks follow it.
import { ApiSettings } from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../src/stack.js";

const TOKEN = "ops-token-for-the-api-test";
const api = ApiSettings.parse({
  host: "127.0.0.1",
  port: 0,
  tokens: [{ name: "ops", token: { env: "MARINA_TEST_API_TOKEN" } }],
});
const env = { MARINA_TEST_API_TOKEN: TOKEN };
const auth = { authorization: `Bearer ${TOKEN}` };

interface Check {
  status: number;
  body: Record<string, unknown>;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Check> {
  const r = await fetch(url, { headers });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** Collects the frames of a Server-Sent Events stream until aborted. */
function sse(
  url: string,
  signal: AbortSignal,
): { frames: Array<{ kind: string; payload: Record<string, unknown> }>; status: Promise<number> } {
  const frames: Array<{ kind: string; payload: Record<string, unknown> }> = [];
  const status = (async () => {
    const res = await fetch(url, { headers: auth, signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      let text = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += value;
        const parts = text.split("\n\n");
        text = parts.pop() ?? "";
        for (const p of parts) {
          const data = p.split("\n").find((l) => l.startsWith("data: "));
          if (data) frames.push(JSON.parse(data.slice(6)));
        }
      }
    })().catch(() => {});
    return res.status;
  })();
  return { frames, status };
}

describe("decider HTTP API (real NATS, real servers)", () => {
  let stack: Stack;
  let leaderUrl: string;
  let followerUrl: string;

  beforeAll(async () => {
    stack = await startStack({ lab: { nodes: 3 }, deciders: 0 });
    const first = await stack.startDecider("decider-1", { api, env });
    await waitFor(() => first.app.leading().includes("main"), {
      timeoutMs: 20_000,
      message: "decider-1 leads",
    });
    const second = await stack.startDecider("decider-2", { api, env });
    leaderUrl = first.app.apiUrl!;
    followerUrl = second.app.apiUrl!;
    expect(second.app.leading()).toEqual([]);
    await waitFor(async () => (await get(`${leaderUrl}/clusters/main/primary`)).status === 200, {
      timeoutMs: 30_000,
      message: "a writer known to the leader",
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("answers the primary check 200 on the writer only, on leader and follower alike", async () => {
    const db1 = stack.lab.node("db1");
    for (const base of [leaderUrl, followerUrl]) {
      const primary = await get(`${base}/clusters/main/primary`);
      expect(primary.status, base).toBe(200);
      expect(primary.body).toMatchObject({
        server: "db1",
        host: db1.host,
        port: db1.port,
        decider: "decider-1",
      });
      expect((await get(`${base}/clusters/main/servers/db1/primary`)).status).toBe(200);
      for (const s of ["db2", "db3"]) {
        expect((await get(`${base}/clusters/main/servers/${s}/primary`)).status, s).toBe(503);
        const replica = await get(`${base}/clusters/main/servers/${s}/replica?maxLagSeconds=30`);
        expect(replica.status, `${s} replica: ${JSON.stringify(replica.body)}`).toBe(200);
      }
      expect((await get(`${base}/clusters/main/servers/db1/replica`)).status).toBe(503);
    }
  });

  it("answers a dry-run through the follower and changes nothing", async () => {
    const r = await post(
      `${followerUrl}/clusters/main/commands/switchover?dryRun=true`,
      { target: "db2" },
      auth,
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      ok: true,
      verb: "switchover",
      dryRun: { outcome: "accepted", operation: { kind: "switchover" } },
    });
    const status = await get(`${leaderUrl}/clusters/main/status`, auth);
    expect(status.body).toMatchObject({ primary: "db1", operation: null });
    expect((await get(`${followerUrl}/clusters/main/servers/db1/primary`)).status).toBe(200);
  });

  it("switches over through the follower's API with a token (401 without), SSE and health checks following", async () => {
    const abort = new AbortController();
    const stream = sse(`${followerUrl}/clusters/main/events/stream`, abort.signal);
    try {
      expect(await stream.status).toBe(200);
      // The last topology comes first: db1 the writer.
      await waitFor(() => stream.frames.some((f) => f.kind === "topology"), {
        timeoutMs: 10_000,
        message: "the first topology frame",
      });

      const denied = await post(`${followerUrl}/clusters/main/commands/switchover`, {
        target: "db2",
      });
      expect(denied.status).toBe(401);
      expect(denied.body).toMatchObject({ ok: false, error: { code: "UNAUTHORIZED" } });
      const wrong = await post(
        `${followerUrl}/clusters/main/commands/switchover`,
        { target: "db2" },
        { authorization: "Bearer not-the-token-at-all" },
      );
      expect(wrong.status).toBe(401);
      expect((await get(`${leaderUrl}/clusters/main/status`, auth)).body.primary).toBe("db1");

      const r = await post(
        `${followerUrl}/clusters/main/commands/switchover`,
        { target: "db2", reason: "http api e2e" },
        auth,
      );
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const opId = r.body.opId as string;
      expect(opId).toBeTruthy();

      const db2 = stack.lab.node("db2");
      await waitFor(
        async () => {
          const p = await get(`${followerUrl}/clusters/main/primary`);
          return p.status === 200 && p.body.server === "db2";
        },
        { timeoutMs: 60_000, message: "db2 the writer on the follower's check" },
      );
      const primary = await get(`${leaderUrl}/clusters/main/primary`);
      expect(primary.body).toMatchObject({ server: "db2", host: db2.host, port: db2.port });
      for (const base of [leaderUrl, followerUrl]) {
        expect((await get(`${base}/clusters/main/servers/db2/primary`)).status).toBe(200);
        expect((await get(`${base}/clusters/main/servers/db1/primary`)).status).toBe(503);
      }
      // The stream delivered the change as it was published.
      await waitFor(
        () =>
          stream.frames.some(
            (f) => f.kind === "topology" && (f.payload as { primary?: string }).primary === "db2",
          ),
        { timeoutMs: 10_000, message: "a topology frame with db2 the primary" },
      );
      expect(stream.frames.some((f) => f.kind === "operation")).toBe(true);

      // The record names the token as who asked.
      const record = await waitFor(
        async () => {
          const h = await get(`${followerUrl}/clusters/main/history/${opId}`, auth);
          return h.status === 200 ? h.body : undefined;
        },
        { timeoutMs: 20_000, message: "the switchover's record" },
      );
      expect(record).toMatchObject({
        kind: "switchover",
        outcome: "succeeded",
        request: { verb: "switchover", source: "http:ops" },
      });
      const list = await get(`${leaderUrl}/clusters/main/history?limit=5`, auth);
      expect((list.body.records as Array<{ id: string }>).map((x) => x.id)).toContain(opId);
      const events = await get(`${leaderUrl}/clusters/main/events?all=true&limit=200`, auth);
      expect(events.status).toBe(200);
      expect((events.body.events as unknown[]).length).toBeGreaterThan(0);
    } finally {
      abort.abort();
    }
  }, 120_000);
});
