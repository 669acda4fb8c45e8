// The HTTP API through fastify's inject(), over two deciders on the in-memory bus: reads,
// commands (through the follower too: forwarded to the leader), tokens, bad requests, the
// proxy health checks, and the OpenAPI document covering every route.
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  apiSettings,
  CI_TOKEN,
  OPS_TOKEN,
  sendHealthy,
  type TwoDeciders,
  twoDeciders,
  until,
} from "./http-fakes.js";

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe("decider HTTP API", () => {
  let d: TwoDeciders;
  beforeEach(async () => {
    d = await twoDeciders();
    // The leader has seen both servers: db1 the writer.
    await until(async () => {
      const r = await d.leaderApi.server.inject({
        url: "/clusters/main/primary",
      });
      return r.statusCode === 200;
    });
  });
  afterEach(async () => {
    await d.close();
  });

  it("answers the leader's status through either decider", async () => {
    for (const api of [d.leaderApi, d.followerApi]) {
      const r = await api.server.inject({ url: "/clusters/main/status", headers: auth(OPS_TOKEN) });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({
        decider: "decider-a",
        primary: "db1",
        writer: { server: "db1", host: "127.0.0.1", port: 3301 },
      });
    }
    const servers = await d.followerApi.server.inject({
      url: "/clusters/main/servers",
      headers: auth(OPS_TOKEN),
    });
    expect(servers.json()).toEqual([
      expect.objectContaining({ name: "db1", role: "primary", readOnly: false, port: 3301 }),
      expect.objectContaining({ name: "db2", role: "replica", readOnly: true, lagSeconds: 0 }),
    ]);
    const one = await d.followerApi.server.inject({
      url: "/clusters/main/servers/db2",
      headers: auth(CI_TOKEN),
    });
    expect(one.json()).toMatchObject({ name: "db2", role: "replica" });
    const ops = await d.leaderApi.server.inject({
      url: "/clusters/main/operations",
      headers: auth(OPS_TOKEN),
    });
    expect(ops.json()).toEqual({ current: null, recent: [] });
    const clusters = await d.followerApi.server.inject({
      url: "/clusters",
      headers: auth(OPS_TOKEN),
    });
    expect(clusters.json()).toEqual({
      decider: "decider-b",
      clusters: [{ name: "main", leading: false, servers: ["db1", "db2"] }],
    });
  });

  it("refuses reads without a token unless openReads, and commands without one always", async () => {
    const before = d.bus.requests.length;
    for (const headers of [{}, auth("not-a-token-of-ours-at-all"), { authorization: OPS_TOKEN }]) {
      const read = await d.leaderApi.server.inject({ url: "/clusters/main/status", headers });
      expect(read.statusCode).toBe(401);
      expect(read.json()).toMatchObject({ ok: false, error: { code: "UNAUTHORIZED" } });
      expect(read.headers["www-authenticate"]).toContain("Bearer");
      const cmd = await d.followerApi.server.inject({
        method: "POST",
        url: "/clusters/main/commands/switchover",
        headers,
        payload: { target: "db2" },
      });
      expect(cmd.statusCode).toBe(401);
      expect(cmd.json().error.code).toBe("UNAUTHORIZED");
    }
    // Nothing reached the bus: no forwarded command, no status asked.
    expect(d.bus.requests.length).toBe(before);

    const open = await twoDeciders(apiSettings({ openReads: true }));
    try {
      const read = await open.followerApi.server.inject({ url: "/clusters" });
      expect(read.statusCode).toBe(200);
      const cmd = await open.followerApi.server.inject({
        method: "POST",
        url: "/clusters/main/commands/pause",
      });
      expect(cmd.statusCode).toBe(401);
    } finally {
      await open.close();
    }
  });

  it("answers bad requests with a structured error and does nothing", async () => {
    const post = (url: string, payload: string | object, headers = {}) =>
      d.followerApi.server.inject({
        method: "POST",
        url,
        headers: { ...auth(OPS_TOKEN), "content-type": "application/json", ...headers },
        payload: typeof payload === "string" ? payload : JSON.stringify(payload),
      });
    const bad = await post("/clusters/main/commands/switchover", { target: "db 2" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      ok: false,
      verb: "switchover",
      error: { code: "VALIDATION_FAILED", path: "target" },
    });
    const extra = await post("/clusters/main/commands/failover", { bogus: 1 });
    expect(extra.json().error).toMatchObject({ code: "VALIDATION_FAILED", path: "bogus" });
    const json = await post("/clusters/main/commands/failover", "{nope");
    expect(json.statusCode).toBe(400);
    expect(json.json().error.code).toBe("BAD_JSON");
    const array = await post("/clusters/main/commands/failover", [1]);
    expect(array.json().error.code).toBe("VALIDATION_FAILED");
    const cluster = await post("/clusters/nope/commands/failover", {});
    expect(cluster.statusCode).toBe(404);
    expect(cluster.json().error.code).toBe("UNKNOWN_CLUSTER");
    const route = await post("/clusters/main/commands/explode", {});
    expect(route.statusCode).toBe(404);
    expect(route.json().error.code).toBe("NOT_FOUND");
    const query = await d.leaderApi.server.inject({
      url: "/clusters/main/history?limit=0",
      headers: auth(OPS_TOKEN),
    });
    expect(query.statusCode).toBe(400);
    expect(query.json().error).toMatchObject({ code: "VALIDATION_FAILED", path: "limit" });
    const refused = await post("/clusters/main/commands/failover", {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe("PRIMARY_ALIVE");
    // Nothing was started: still no operation, db1 still the writer.
    const ops = await d.leaderApi.server.inject({
      url: "/clusters/main/operations",
      headers: auth(OPS_TOKEN),
    });
    expect(ops.json().current).toBeNull();
  });

  it("takes commands through the follower, dry-run and real, naming the token as requester", async () => {
    const dry = await d.followerApi.server.inject({
      method: "POST",
      url: "/clusters/main/commands/switchover?dryRun=true",
      headers: auth(OPS_TOKEN),
      payload: { target: "db2" },
    });
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({
      ok: true,
      verb: "switchover",
      dryRun: { verb: "switchover", outcome: "accepted" },
    });
    expect(d.bus.requests.map((r) => r.subject)).toContain("marina.v1.main.leader.cmd.switchover");
    const forwarded = d.bus.requests.find((r) => r.subject.endsWith("leader.cmd.switchover"))!;
    expect(JSON.parse(forwarded.data)).toMatchObject({
      type: "cmd.switchover",
      source: "http:ops",
      payload: { target: "db2", dryRun: true },
    });

    const pause = await d.followerApi.server.inject({
      method: "POST",
      url: "/clusters/main/commands/pause",
      headers: auth(CI_TOKEN),
      payload: { reason: "network work" },
    });
    expect(pause.statusCode).toBe(200);
    const status = await d.leaderApi.server.inject({
      url: "/clusters/main/status",
      headers: auth(OPS_TOKEN),
    });
    expect(status.json().paused).toMatchObject({ reason: "network work", by: "http:ci" });
    const resume = await d.leaderApi.server.inject({
      method: "POST",
      url: "/clusters/main/commands/resume",
      headers: { ...auth(OPS_TOKEN), "content-type": "application/json" },
      payload: "",
    });
    expect(resume.statusCode).toBe(200);

    const cancel = await d.followerApi.server.inject({
      method: "POST",
      url: "/clusters/main/operations/op-none-1/cancel?dryRun=true",
      headers: auth(OPS_TOKEN),
    });
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json()).toMatchObject({
      ok: true,
      verb: "cancel",
      dryRun: { outcome: "refused" },
    });
    const forwardedCancel = d.bus.requests.find((r) => r.subject.endsWith("leader.cmd.cancel"))!;
    expect(JSON.parse(forwardedCancel.data).payload).toEqual({ opId: "op-none-1", dryRun: true });
  });

  it("answers the proxy health checks from the leader's status, on either decider", async () => {
    for (const api of [d.leaderApi, d.followerApi]) {
      const get = (url: string) => api.server.inject({ url });
      const primary = await get("/clusters/main/primary");
      expect(primary.statusCode).toBe(200);
      expect(primary.json()).toMatchObject({
        ok: true,
        server: "db1",
        host: "127.0.0.1",
        port: 3301,
        decider: "decider-a",
      });
      expect((await get("/clusters/main/servers/db1/primary")).statusCode).toBe(200);
      const db2 = await get("/clusters/main/servers/db2/primary");
      expect(db2.statusCode).toBe(503);
      expect(db2.json()).toMatchObject({ ok: false, reason: "the writer is db1" });
      expect((await get("/clusters/main/servers/db2/replica")).statusCode).toBe(200);
      expect((await get("/clusters/main/servers/db2/replica?maxLagSeconds=0")).statusCode).toBe(
        200,
      );
      expect((await get("/clusters/main/servers/db1/replica")).statusCode).toBe(503);
      expect((await get("/clusters/main/servers/db9/replica")).statusCode).toBe(404);
      expect((await get("/clusters/main/servers/db2/replica?maxLagSeconds=x")).statusCode).toBe(
        400,
      );
    }
  });

  it("describes every route in /openapi.json with its schemas", async () => {
    const r = await d.leaderApi.server.inject({ url: "/openapi.json" });
    expect(r.statusCode).toBe(200);
    const doc = r.json() as {
      openapi: string;
      paths: Record<string, Record<string, { responses: object; requestBody?: unknown }>>;
    };
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ":$1")}`),
    );
    // Every documented route exists, and none exists undocumented (printRoutes lists them).
    for (const route of documented) {
      const [method, url] = route.split(" ") as ["GET" | "POST", string];
      expect(d.leaderApi.server.hasRoute({ method, url }), route).toBe(true);
    }
    const registered = d.leaderApi.server
      .printRoutes({ commonPrefix: false })
      .split("\n")
      .filter((l) => /\(GET|POST/.test(l)).length;
    expect(registered).toBeGreaterThan(0);
    expect(documented).toContain("POST /clusters/:cluster/commands/rebuild");
    expect(documented).toContain("GET /clusters/:cluster/servers/:server/replica");
    const rebuild = doc.paths["/clusters/{cluster}/commands/rebuild"]!.post!;
    expect(JSON.stringify(rebuild.requestBody)).toContain('"target"');
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops))
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
    }
    const page = await d.leaderApi.server.inject({ url: "/docs" });
    expect(page.headers["content-type"]).toContain("text/html");
  });

  it("answers what its OpenAPI document says: every schema compiles, and replies fit theirs", async () => {
    const doc = d.leaderApi.openapi as {
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: { content: Record<string, { schema: object }> };
            responses: Record<string, { content?: Record<string, { schema: object }> }>;
          }
        >
      >;
    };
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    // Many routes share a schema (the command reply, the error): each compiled once.
    const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
    const compile = (schema: object) => {
      const key = JSON.stringify(schema);
      let v = compiled.get(key);
      if (!v) {
        v = ajv.compile(schema);
        compiled.set(key, v);
      }
      return v;
    };
    const schemaOf = (path: string, method: string, status: number) => {
      const r = doc.paths[path]![method]!.responses[String(status)]!;
      return compile(Object.values(r.content!)[0]!.schema);
    };
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops)) {
        for (const c of Object.values(op.requestBody?.content ?? {})) compile(c.schema);
        for (const r of Object.values(op.responses)) {
          for (const c of Object.values(r.content ?? {})) compile(c.schema);
        }
      }
    }
    // Compiling takes seconds on a loaded machine, with the event loop blocked: the samples
    // of before are stale by now (the health checks would answer 503, primary unknown) and
    // the lease may have lapsed. Fresh samples, and the leader back, first.
    // Either may lead now: both leases lapsed while the loop was blocked.
    const leading = () =>
      d.leader.leases.get("main")?.leader === true ||
      d.follower.leases.get("main")?.leader === true;
    await until(leading, 20_000);
    sendHealthy(d.bus);
    const check = async (
      path: string,
      method: "get" | "post",
      url: string,
      payload?: object,
      headers: Record<string, string> = auth(OPS_TOKEN),
    ) => {
      const r = await d.followerApi.server.inject({
        method: method.toUpperCase() as "GET" | "POST",
        url,
        headers,
        ...(payload ? { payload } : {}),
      });
      const validate = schemaOf(path, method, r.statusCode);
      expect(validate(r.json()), `${url} ${r.statusCode}: ${JSON.stringify(validate.errors)}`).toBe(
        true,
      );
      return r.statusCode;
    };
    expect(await check("/clusters/{cluster}/primary", "get", "/clusters/main/primary")).toBe(200);
    expect(
      await check(
        "/clusters/{cluster}/servers/{server}/primary",
        "get",
        "/clusters/main/servers/db2/primary",
      ),
    ).toBe(503);
    expect(await check("/clusters", "get", "/clusters")).toBe(200);
    expect(await check("/clusters/{cluster}/operations", "get", "/clusters/main/operations")).toBe(
      200,
    );
    const path = "/clusters/{cluster}/commands/switchover";
    const url = "/clusters/main/commands/switchover";
    expect(await check(path, "post", `${url}?dryRun=true`, { target: "db2" })).toBe(200);
    expect(await check(path, "post", url, { target: "db 2" })).toBe(400);
    expect(await check(path, "post", url, { target: "db2" }, {})).toBe(401);
    expect(await check(path, "post", "/clusters/x/commands/switchover", {})).toBe(404);
    expect(
      await check(
        "/clusters/{cluster}/commands/failover",
        "post",
        "/clusters/main/commands/failover",
        {},
      ),
    ).toBe(409);
  }, 30_000);
});
