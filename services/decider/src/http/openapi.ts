// The OpenAPI 3.1 document of the HTTP API, built from the route table (every route is
// declared there with its zod schemas, so none is left out) with zod's own JSON Schema
// output, as docs/schemas/ is made. Served at /openapi.json; /docs renders it.
import { z } from "zod";
import type { RouteDoc } from "./route-doc.js";

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  return rest;
}

/** `/clusters/:cluster/primary` → `/clusters/{cluster}/primary`, and its path parameters. */
function pathOf(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path, params };
}

function operationOf(r: RouteDoc): Json {
  const { params } = pathOf(r.url);
  const parameters: Json[] = params.map((name) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  if (r.query) {
    // Query parameters arrive as text; their output schema says what they mean.
    const q = jsonSchema(r.query, "output") as {
      properties?: Record<string, Json>;
      required?: string[];
    };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      const { description, ...rest } = schema as Json & { description?: string };
      parameters.push({
        name,
        in: "query",
        required: false,
        schema: rest,
        ...(description ? { description } : {}),
      });
    }
  }
  const responses = Object.fromEntries(
    Object.entries(r.responses).map(([code, d]) => [
      code,
      {
        description: d.description,
        ...(d.schema
          ? {
              content: {
                [d.contentType ?? "application/json"]: { schema: jsonSchema(d.schema, "output") },
              },
            }
          : {}),
      },
    ]),
  );
  return {
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    tags: [...r.tags],
    operationId: `${r.method.toLowerCase()}${pathOf(r.url).path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c?: string) => (c ? c.toUpperCase() : ""))}`,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(r.body
      ? {
          requestBody: {
            required: false,
            content: { "application/json": { schema: jsonSchema(r.body, "input") } },
          },
        }
      : {}),
    ...(r.access === "open" ? { security: [] } : {}),
    ...(r.access === "read" ? { security: [{ bearer: [] }, {}] } : {}),
    responses,
  };
}

export function openApiDocument(routes: readonly RouteDoc[], version: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const { path } = pathOf(r.url);
    paths[path] = { ...(paths[path] ?? {}), [r.method.toLowerCase()]: operationOf(r) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Marina decider HTTP API",
      version,
      description:
        "Served by every decider. Commands go through the same intake as on NATS (a follower forwards them to the leader); errors carry the codes of docs/errors.md. See docs/http-api.md.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

/** A small page listing every route from /openapi.json, with each one's schemas. */
export const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Marina HTTP API</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}code,pre{font:12px ui-monospace,monospace}
pre{background:#f4f4f4;padding:.5em;overflow:auto;max-height:20em}details{margin:.3em 0}
.m{display:inline-block;width:4em;font-weight:bold}.GET{color:#06c}.POST{color:#c60}</style></head>
<body><h1>Marina HTTP API</h1><p>From <a href="openapi.json">/openapi.json</a>; docs/http-api.md says more.</p>
<div id="routes">loading…</div>
<script>
fetch("openapi.json").then(r=>r.json()).then(doc=>{
  const out=document.getElementById("routes");out.textContent="";
  for(const [path,ops] of Object.entries(doc.paths))for(const [m,op] of Object.entries(ops)){
    const d=document.createElement("details"),s=document.createElement("summary");
    const auth=op.security&&op.security.length===0?" (open)":"";
    s.innerHTML='<span class="m '+m.toUpperCase()+'">'+m.toUpperCase()+'</span><code></code> ';
    s.querySelector("code").textContent=path;s.append(op.summary+auth);d.append(s);
    const pre=document.createElement("pre");
    pre.textContent=JSON.stringify({parameters:op.parameters,requestBody:op.requestBody,responses:op.responses},null,1);
    d.append(pre);out.append(d);
  }
});
</script></body></html>
`;
