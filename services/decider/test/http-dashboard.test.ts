// The dashboard's files on the decider's HTTP API: served from the dashboard package's
// build, open (the page holds no data), with a content security policy that keeps scripts
// and styles to this server; nothing but the bundle's own files is ever served.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { buildHttpApi } from "../src/http/app.js";
import { config } from "./fixtures.js";
import { apiSettings, FakeReader } from "./http-fakes.js";

function api() {
  return buildHttpApi({
    settings: apiSettings(),
    clusters: config.clusters,
    commands: {
      command: async () => {
        throw new Error("no command in these tests");
      },
    },
    reader: new FakeReader(),
    deciderId: "decider-1",
    leading: () => [],
    log: pino({ level: "silent" }),
    monotonic: () => performance.now(),
    env: { CI_API_TOKEN: "ci-token-0123456789ab" },
  }).server;
}

describe("dashboard routes", () => {
  it("serves the page without a token, its script and stylesheet, with a strict CSP", async () => {
    const server = api();
    const page = await server.inject({ url: "/dashboard/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain('src="app.js"');
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    const js = await server.inject({ url: "/dashboard/app.js" });
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-type"]).toMatch(/^text\/javascript/);
    expect(js.body.length).toBeGreaterThan(1000);
    const css = await server.inject({ url: "/dashboard/app.css" });
    expect(css.headers["content-type"]).toMatch(/^text\/css/);
    await server.close();
  });

  it("redirects /dashboard to /dashboard/ keeping the query", async () => {
    const server = api();
    const r = await server.inject({ url: "/dashboard?cluster=main" });
    expect(r.statusCode).toBe(302);
    expect(r.headers.location).toBe("/dashboard/?cluster=main");
    await server.close();
  });

  it("serves nothing but the bundle's files", async () => {
    const server = api();
    for (const url of [
      "/dashboard/index.ts",
      "/dashboard/..%2Fpackage.json",
      "/dashboard/%2e%2e%2findex.js",
      "/dashboard/app.js.map",
    ]) {
      const r = await server.inject({ url });
      expect(r.statusCode, url).toBe(404);
      expect(r.json()).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
    }
    await server.close();
  });

  it("lists the dashboard in the OpenAPI document", async () => {
    const server = api();
    const doc = (await server.inject({ url: "/openapi.json" })).json() as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/dashboard", "/dashboard/", "/dashboard/{file}"]),
    );
    await server.close();
  });
});
