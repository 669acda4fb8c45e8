// The HTTP API over TLS, over a real socket with certificates openssl made: a client
// certificate the configured CA signed, for a listed CN, is let in under its name (the
// requester of its commands); one for another CN, or from another CA, counts for nothing;
// with requireClientCertificate the handshake itself refuses a client without one.
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import {
  issueLabClientCertificate,
  type LabTls,
  makeLabDir,
  makeLabTls,
  removeTree,
  waitFor,
} from "@marina/lab";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readApiTls } from "../src/http/auth.js";
import { apiSettings, OPS_TOKEN, type TwoDeciders, twoDeciders } from "./http-fakes.js";

interface Answer {
  status: number;
  body: { ok?: boolean; error?: { code: string; message: string } } & Record<string, unknown>;
}

interface Client {
  cert?: string;
  key?: string;
  token?: string;
}

let dir: string;
let tls: LabTls;
let otherCa: LabTls;
let stranger: { cert: string; key: string };

beforeAll(async () => {
  dir = await makeLabDir();
  tls = await makeLabTls(join(dir, "tls"), []);
  otherCa = await makeLabTls(join(dir, "other"), []);
  stranger = await issueLabClientCertificate(tls, "stranger", "someone-else");
}, 60_000);

afterAll(async () => {
  await removeTree(dir);
});

function settings(over: Record<string, unknown> = {}) {
  return apiSettings({
    tls: {
      cert: tls.serverCertFile,
      key: tls.serverKeyFile,
      clientCa: tls.caFile,
      clients: [{ name: "robot", commonName: "marina-lab-client" }],
      ...over,
    },
  });
}

/** Listens on a free port of 127.0.0.1; the URL's port. */
async function listen(d: TwoDeciders): Promise<number> {
  await d.followerApi.server.listen({ host: "127.0.0.1", port: 0 });
  const addr = d.followerApi.server.server.address();
  if (typeof addr !== "object" || !addr) throw new Error("no address");
  return addr.port;
}

function call(
  port: number,
  method: "GET" | "POST",
  path: string,
  client: Client = {},
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        ca: tls.caPem,
        ...(client.cert ? { cert: readFileSync(client.cert), key: readFileSync(client.key!) } : {}),
        headers: {
          ...(client.token ? { authorization: `Bearer ${client.token}` } : {}),
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...extra,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe("HTTP API over TLS with client certificates", () => {
  let d: TwoDeciders | undefined;
  afterEach(async () => {
    await d?.close();
    d = undefined;
  });

  it("lets a listed certificate in under its name, and nothing else without a token", async () => {
    const s = settings();
    d = await twoDeciders(s, readApiTls(s.tls!));
    const port = await listen(d);
    const robot = { cert: tls.clientCertFile, key: tls.clientKeyFile };
    // A leader answers the state (its lease, 1 s here, can lapse on a loaded machine: 503).
    await waitFor(
      async () =>
        (await call(port, "GET", "/clusters/main/status", { token: OPS_TOKEN })).status === 200,
      { timeoutMs: 15_000, message: "a leading decider answering the state" },
    );

    // Open routes need nothing; the server's certificate verifies against the lab's CA.
    expect((await call(port, "GET", "/healthz")).status).toBe(200);
    const none = await call(port, "GET", "/clusters/main/status");
    expect(none.status).toBe(401);
    expect(none.body.error?.message).toContain("no client certificate this decider knows");
    expect((await call(port, "GET", "/clusters/main/status", robot)).status).toBe(200);
    // A token still works without a certificate.
    expect((await call(port, "GET", "/clusters/main/status", { token: OPS_TOKEN })).status).toBe(
      200,
    );

    // The same CA, another CN: not listed. A listed CN from another CA: not verified.
    const strangers = [stranger, { cert: otherCa.clientCertFile, key: otherCa.clientKeyFile }];
    for (const c of strangers) {
      const r = await call(port, "POST", "/clusters/main/commands/switchover?dryRun=true", c, {
        target: "db2",
      });
      expect(r.status, c.cert).toBe(401);
    }
    expect(d.bus.requests.some((r) => r.subject.endsWith("leader.cmd.switchover"))).toBe(false);

    // The certificate's name is the requester of the command the follower forwards.
    const dry = await call(port, "POST", "/clusters/main/commands/switchover?dryRun=true", robot, {
      target: "db2",
    });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ ok: true, dryRun: { outcome: "accepted" } });
    const forwarded = d.bus.requests.find((r) => r.subject.endsWith("leader.cmd.switchover"))!;
    expect(JSON.parse(forwarded.data)).toMatchObject({
      source: "http:robot",
      payload: { target: "db2", dryRun: true },
    });
  });

  it("refuses a command another site's page makes with the browser's certificate", async () => {
    const s = settings();
    d = await twoDeciders(s, readApiTls(s.tls!));
    const port = await listen(d);
    const robot = { cert: tls.clientCertFile, key: tls.clientKeyFile };
    const foreign: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { "sec-fetch-site": "cross-site" },
      { origin: "null" },
    ];
    for (const headers of foreign) {
      const r = await call(
        port,
        "POST",
        "/clusters/main/commands/pause",
        robot,
        undefined,
        headers,
      );
      expect(r.status, JSON.stringify(headers)).toBe(401);
      expect(r.body.error?.message).toMatch(/another (site|origin)/);
    }
    expect(d.bus.requests.some((r) => r.subject.endsWith("leader.cmd.pause"))).toBe(false);
    // Reads are not commands; the same origin (the dashboard) sends commands.
    const read = await call(port, "GET", "/clusters/main/status", robot, undefined, {
      origin: "https://evil.example",
    });
    expect(read.status).toBe(200);
    const same = await call(
      port,
      "POST",
      "/clusters/main/commands/switchover?dryRun=true",
      robot,
      {
        target: "db2",
      },
      { origin: `https://127.0.0.1:${port}`, "sec-fetch-site": "same-origin" },
    );
    expect(same.status).toBe(200);
  });

  it("refuses the handshake without a certificate when one is required", async () => {
    const s = settings({ requireClientCertificate: true });
    d = await twoDeciders(s, readApiTls(s.tls!));
    const port = await listen(d);
    await expect(call(port, "GET", "/healthz")).rejects.toThrow();
    await expect(
      call(port, "GET", "/healthz", { cert: otherCa.clientCertFile, key: otherCa.clientKeyFile }),
    ).rejects.toThrow();
    expect((await call(port, "GET", "/healthz", stranger)).status).toBe(200);
    const robot = { cert: tls.clientCertFile, key: tls.clientKeyFile };
    expect((await call(port, "GET", "/clusters/main/status", robot)).status).toBe(200);
    // Verified but unlisted: in through the handshake, still no one.
    expect((await call(port, "GET", "/clusters/main/status", stranger)).status).toBe(401);
  });

  it("stops the start naming an unreadable file, and refuses clients without a CA", () => {
    expect(() => readApiTls({ ...settings().tls!, key: join(dir, "missing.key") })).toThrow(
      /api\.tls\.key: cannot read .*missing\.key: ENOENT/,
    );
    expect(() =>
      apiSettings({
        tls: {
          cert: tls.serverCertFile,
          key: tls.serverKeyFile,
          clients: [{ name: "x", commonName: "y" }],
        },
      }),
    ).toThrow(/clientCa/);
  });
});
