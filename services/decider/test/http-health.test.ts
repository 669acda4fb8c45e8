// The proxy health checks' currency rule (a status at most statusMaxAgeMs old, else asked
// again; none in time means 503), and the Server-Sent Events stream over a real socket.
import type { CommandReply } from "@marina/contracts";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { buildHttpApi } from "../src/http/app.js";
import type { CommandSubmitter } from "../src/http/deps.js";
import { LeaderStatusCache } from "../src/http/leader-status.js";
import { config } from "./fixtures.js";
import { apiSettings, FakeReader, OPS_TOKEN, until } from "./http-fakes.js";

function statusReply(writer: string | null, primaryVerdict = "healthy"): CommandReply {
  return {
    ok: true,
    verb: "status",
    message: "",
    data: {
      decider: "decider-a",
      epoch: 3,
      primaryVerdict,
      writer: writer ? { server: writer, host: "10.0.0.1", port: 3306 } : null,
      operation: null,
      servers: [
        {
          name: "db1",
          role: writer === "db1" ? "primary" : "fenced",
          readOnly: writer !== "db1",
          situations: [],
        },
        { name: "db2", role: "replica", readOnly: true, lagSeconds: 7, situations: [] },
      ],
    },
  };
}

/** A submitter answering status with `next()` (or failing), counting the questions. */
function submitter(next: () => CommandReply | Error) {
  const s = {
    asked: 0,
    async command() {
      s.asked += 1;
      const r = next();
      if (r instanceof Error) throw r;
      return r;
    },
  };
  return s satisfies CommandSubmitter & { asked: number };
}

describe("LeaderStatusCache", () => {
  it("reuses a status younger than the bound, asks again past it, and has none on failure", async () => {
    let now = 1_000;
    let answer: CommandReply | Error = statusReply("db1");
    const s = submitter(() => answer);
    const cache = new LeaderStatusCache("main", s, () => now);
    expect((await cache.current(500, 100))?.status.writer?.server).toBe("db1");
    now += 400;
    answer = statusReply("db2");
    expect((await cache.current(500, 100))?.status.writer?.server).toBe("db1");
    expect(s.asked).toBe(1);
    now += 200;
    expect((await cache.current(500, 100))?.status.writer?.server).toBe("db2");
    expect(s.asked).toBe(2);
    now += 600;
    answer = new Error("TIMEOUT");
    expect(await cache.current(500, 100)).toBeNull();
    answer = {
      ok: false,
      verb: "status",
      error: { code: "NOT_LEADER", message: "x", retryable: true },
    };
    expect(await cache.current(500, 100)).toBeNull();
  });

  it("asks once for many checks arriving together", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let asked = 0;
    const cache = new LeaderStatusCache(
      "main",
      {
        async command() {
          asked += 1;
          await gate;
          return statusReply("db1");
        },
      },
      () => 0,
    );
    const all = Promise.all([1, 2, 3].map(() => cache.current(500, 100)));
    release();
    expect((await all).every((s) => s?.status.writer?.server === "db1")).toBe(true);
    expect(asked).toBe(1);
  });
});

describe("health checks without a current status", () => {
  const build = (commands: CommandSubmitter) =>
    buildHttpApi({
      settings: apiSettings(),
      clusters: config.clusters,
      commands,
      reader: new FakeReader(),
      deciderId: "decider-b",
      leading: () => [],
      log: pino({ level: "silent" }),
      monotonic: () => performance.now(),
      env: { CI_API_TOKEN: "ci-token-0123456789ab" },
    });

  it("answers 503 everywhere when no leader answers, 200 once one does", async () => {
    let answer: CommandReply | Error = new Error("TIMEOUT");
    const api = build(submitter(() => answer));
    try {
      for (const url of [
        "/clusters/main/primary",
        "/clusters/main/servers/db1/primary",
        "/clusters/main/servers/db2/replica",
      ]) {
        const r = await api.server.inject({ url });
        expect(r.statusCode, url).toBe(503);
        expect(r.json()).toMatchObject({
          ok: false,
          reason: "no current status from the leading decider",
        });
      }
      answer = statusReply(null);
      const none = await api.server.inject({ url: "/clusters/main/primary" });
      expect(none.statusCode).toBe(503);
      expect(none.json()).toMatchObject({
        reason: "no writable primary",
        decider: "decider-a",
        epoch: 3,
      });
    } finally {
      await api.server.close();
    }
  });

  it("answers 503 for a writer no monitor sampled lately (every monitor gone)", async () => {
    const api = build(submitter(() => statusReply("db1", "unknown")));
    try {
      expect((await api.server.inject({ url: "/clusters/main/primary" })).statusCode).toBe(503);
      expect(
        (await api.server.inject({ url: "/clusters/main/servers/db1/primary" })).statusCode,
      ).toBe(503);
    } finally {
      await api.server.close();
    }
    const fresh = build(submitter(() => statusReply("db1")));
    try {
      expect((await fresh.server.inject({ url: "/clusters/main/primary" })).statusCode).toBe(200);
    } finally {
      await fresh.server.close();
    }
  });

  it("answers a lagging replica 503 beyond maxLagSeconds, and a fenced server never 200", async () => {
    const api = build(submitter(() => statusReply("db1")));
    try {
      const lag = (n: number) =>
        api.server.inject({ url: `/clusters/main/servers/db2/replica?maxLagSeconds=${n}` });
      expect((await lag(7)).statusCode).toBe(200);
      const behind = await lag(6);
      expect(behind.statusCode).toBe(503);
      expect(behind.json().reason).toBe("db2 lags 7 s (> 6 s)");
    } finally {
      await api.server.close();
    }
    const fenced = build(submitter(() => statusReply("db3")));
    try {
      expect(
        (await fenced.server.inject({ url: "/clusters/main/servers/db1/primary" })).statusCode,
      ).toBe(503);
      expect(
        (await fenced.server.inject({ url: "/clusters/main/servers/db1/replica" })).statusCode,
      ).toBe(503);
    } finally {
      await fenced.server.close();
    }
  });
});

describe("commands without a leader", () => {
  it("answers NOT_LEADER 503 and a missing reply TIMEOUT 504", async () => {
    let answer: CommandReply | Error = {
      ok: false,
      verb: "switchover",
      error: { code: "NOT_LEADER", message: "no decider leads main right now", retryable: true },
    };
    const api = buildHttpApi({
      settings: apiSettings(),
      clusters: config.clusters,
      commands: submitter(() => answer),
      reader: new FakeReader(),
      deciderId: "decider-b",
      leading: () => [],
      log: pino({ level: "silent" }),
      monotonic: () => performance.now(),
      env: { CI_API_TOKEN: "ci-token-0123456789ab" },
    });
    const send = () =>
      api.server.inject({
        method: "POST",
        url: "/clusters/main/commands/switchover",
        headers: { authorization: `Bearer ${OPS_TOKEN}` },
        payload: {},
      });
    try {
      const r = await send();
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({
        ok: false,
        verb: "switchover",
        error: { code: "NOT_LEADER", retryable: true },
      });
      answer = Object.assign(new Error("no answer to switchover within 12000 ms"), {
        code: "TIMEOUT",
      });
      const t = await send();
      expect(t.statusCode).toBe(504);
      expect(t.json().error).toMatchObject({ code: "TIMEOUT", retryable: true });
    } finally {
      await api.server.close();
    }
  });
});

describe("Server-Sent Events", () => {
  it("streams the last topology, then what is published, until the client goes", async () => {
    const reader = new FakeReader();
    const topology = {
      cluster: "main",
      epoch: 1,
      generation: 4,
      primary: "db1",
      writer: { server: "db1", host: "127.0.0.1", port: 3301 },
      servers: [],
      lastOperation: null,
      changedAt: "2026-11-20T12:00:00.000Z",
    };
    reader.topology = topology as never;
    const api = buildHttpApi({
      settings: apiSettings(),
      clusters: config.clusters,
      commands: submitter(() => statusReply("db1")),
      reader,
      deciderId: "decider-a",
      leading: () => ["main"],
      log: pino({ level: "silent" }),
      monotonic: () => performance.now(),
      env: { CI_API_TOKEN: "ci-token-0123456789ab" },
    });
    await api.server.listen({ host: "127.0.0.1", port: 0 });
    const port = (api.server.server.address() as { port: number }).port;
    const abort = new AbortController();
    try {
      const denied = await fetch(`http://127.0.0.1:${port}/clusters/main/events/stream`);
      expect(denied.status).toBe(401);
      const res = await fetch(`http://127.0.0.1:${port}/clusters/main/events/stream`, {
        headers: { authorization: `Bearer ${OPS_TOKEN}` },
        signal: abort.signal,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      const stream = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      const readUntil = async (needle: string) => {
        while (!text.includes(needle)) {
          const { value, done } = await stream.read();
          if (done) throw new Error(`stream ended before ${needle}`);
          text += value;
        }
      };
      await readUntil('"generation":4');
      expect(text).toContain("event: topology\ndata: ");
      await until(() => reader.following === 1);
      reader.publish({
        kind: "topology",
        time: "2026-11-20T12:00:01.000Z",
        payload: { ...topology, generation: 5, primary: "db2" } as never,
      });
      await readUntil('"generation":5');
      const frames = text.split("\n\n").filter((f) => f.startsWith("event:"));
      expect(JSON.parse(frames[1]!.split("data: ")[1]!)).toMatchObject({
        kind: "topology",
        payload: { primary: "db2" },
      });
      abort.abort();
      await until(() => reader.following === 0);
    } finally {
      abort.abort();
      await api.server.close();
    }
  });
});
