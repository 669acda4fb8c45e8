// The live dashboard (packages/dashboard): its prebuilt static files at /dashboard/, so no
// other web server is needed and nothing is fetched from the internet. The page is open —
// it holds no data; every API call it makes carries the token the user gives it (reads
// without one only where `api.openReads` allows).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  DASHBOARD_FILES,
  type DashboardFile,
  dashboardAssetsDir,
  isDashboardFile,
} from "@marina/dashboard";
import type { FastifyReply } from "fastify";
import type { HttpContext } from "./context.js";
import { fail } from "./errors.js";

/**
 * Scripts and styles from this server only; the page may fetch any http(s) address (the
 * API here, and a writer's stats URL the page is given, as the sandbox's).
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' http: https:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export function dashboardRoutes(ctx: HttpContext, dir: string = dashboardAssetsDir()): void {
  // Read once, on first use: the files do not change while the decider runs.
  const cache = new Map<DashboardFile, Buffer>();
  const send = async (reply: FastifyReply, file: DashboardFile) => {
    let body = cache.get(file);
    if (!body) {
      try {
        body = await readFile(join(dir, file));
      } catch {
        return fail(reply, "NOT_FOUND", `the dashboard is not built (${file}): run pnpm build`);
      }
      cache.set(file, body);
    }
    return reply
      .type(DASHBOARD_FILES[file])
      .header("content-security-policy", CSP)
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "no-referrer")
      .header("cache-control", "no-cache")
      .send(body);
  };
  const page = { 200: { description: "HTML", contentType: "text/html" } };
  ctx.table.define(
    {
      method: "GET",
      url: "/dashboard",
      summary: "the live dashboard (docs/dashboard.md)",
      tags: ["dashboard"],
      access: "open",
      responses: { 302: { description: "to /dashboard/" } },
    },
    async (req, reply) => {
      const q = req.url.indexOf("?");
      return reply.redirect(`/dashboard/${q >= 0 ? req.url.slice(q) : ""}`);
    },
  );
  ctx.table.define(
    {
      method: "GET",
      url: "/dashboard/",
      summary: "the live dashboard's page",
      tags: ["dashboard"],
      access: "open",
      responses: page,
    },
    (_req, reply) => send(reply, "index.html"),
  );
  ctx.table.define(
    {
      method: "GET",
      url: "/dashboard/:file",
      summary: "the dashboard's script and stylesheet (app.js, app.css)",
      tags: ["dashboard"],
      access: "open",
      responses: {
        200: { description: "the file" },
        404: { description: "no such file" },
      },
    },
    async (req, reply) => {
      const file = (req.params as { file: string }).file;
      if (!isDashboardFile(file)) return fail(reply, "NOT_FOUND", `no dashboard file ${file}`);
      return send(reply, file);
    },
  );
}
