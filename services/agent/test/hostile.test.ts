import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentResultMessage, envelope, mustParse } from "@marina/contracts";
import { StaticLeaseSource } from "@marina/lease-fence";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentApp, AgentConfig, type Bus, buildApp } from "../src/index.js";

// Hostile and malformed requests straight into the handler (a pure unit test: the bus is an
// in-memory recorder). Each must be refused with a structured error and NOTHING done: the
// service control records every call, and the datadirs are checked afterwards.

let base: string;
let app: AgentApp;
const lease = new StaticLeaseSource({ main: 1 });
const calls: string[] = [];
const published: string[] = [];

const bus: Bus = {
  publish: (subject) => {
    published.push(subject);
  },
  serve: () => ({ stop() {} }),
  flush: async () => {},
  subscribe: () => ({ stop() {} }),
};

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "agent-hostile-"));
  await mkdir(join(base, "data", "mysql"), { recursive: true });
  await writeFile(join(base, "data", "ibdata1"), "x");
  await mkdir(join(base, "notdata"));
  await writeFile(join(base, "notdata", "report.pdf"), "x");
  const config = AgentConfig.parse({
    host: "h1",
    advertiseAddress: "127.0.0.1",
    backup: { user: "marina" },
    tmpDir: join(base, "tmp"),
    servers: [
      {
        name: "db1",
        cluster: "main",
        datadir: join(base, "data"),
        socket: join(base, "nowhere.sock"),
      },
      {
        name: "db2",
        cluster: "main",
        datadir: join(base, "notdata"),
        socket: join(base, "nowhere.sock"),
      },
    ],
  });
  app = buildApp({
    bus,
    log: pino({ level: "silent" }),
    config,
    // The leader lease of "main" is at epoch 1, what request() carries.
    lease,
    serviceControl: (s) => ({
      start: async () => {
        calls.push(`start ${s.name}`);
      },
      stop: async () => {
        calls.push(`stop ${s.name}`);
      },
      status: async () => ({ running: true, pid: 4242 }),
    }),
  });
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function request(payload: Record<string, unknown>) {
  return JSON.stringify(
    envelope("agent-request", "test", { host: "h1", opId: "op-1", epoch: 1, ...payload }),
  );
}

async function send(action: Parameters<AgentApp["handle"]>[0], body: string) {
  return mustParse(AgentResultMessage, JSON.parse(await app.handle(action, body))).payload;
}

const recv = (extra: Record<string, unknown>) => ({
  request: { action: "receive-backup", server: "db1", ...extra },
});
const sendTo = (to: unknown) => ({ request: { action: "send-backup", server: "db1", to } });

describe("hostile agent requests", () => {
  it.each([
    [
      "shell metacharacters in a server name",
      "receive-backup",
      recv({ server: "db1;rm -rf /" }),
      "payload.request.server",
    ],
    [
      "command substitution in a server name",
      "stop-server",
      { request: { action: "stop-server", server: "$(reboot)" } },
      "payload.request.server",
    ],
    [
      "a path as a server name",
      "receive-backup",
      recv({ server: "../../etc" }),
      "payload.request.server",
    ],
    [
      "a socat option in the address",
      "send-backup",
      sendTo({ address: "1.2.3.4,fork", port: 4444 }),
      "payload.request.to.address",
    ],
    [
      "a space in the address",
      "send-backup",
      sendTo({ address: "1.2.3.4 -x", port: 4444 }),
      "payload.request.to.address",
    ],
    [
      "a port out of range",
      "send-backup",
      sendTo({ address: "1.2.3.4", port: 70000 }),
      "payload.request.to.port",
    ],
    [
      "a datadir field smuggled in",
      "receive-backup",
      recv({ datadir: "/" }),
      "payload.request.datadir",
    ],
    [
      "an unknown action",
      "status",
      { request: { action: "exec", cmd: "rm -rf /" } },
      "payload.request.action",
    ],
    [
      "a host token with a dot",
      "status",
      { host: "h1.>", request: { action: "status" } },
      "payload.host",
    ],
    [
      "an opId with a slash",
      "status",
      { opId: "../x", request: { action: "status" } },
      "payload.opId",
    ],
    [
      "a compression level out of range",
      "receive-backup",
      recv({ compression: { kind: "zstd", level: 99 } }),
      "payload.request.compression.level",
    ],
  ])("refuses %s with VALIDATION_FAILED", async (_name, action, payload, path) => {
    const r = await send(action as "status", request(payload));
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ code: "VALIDATION_FAILED", path });
    expect(calls).toEqual([]);
  });

  it("refuses an address the contract allows but socat would misread (':')", async () => {
    const r = await send("send-backup", request(sendTo({ address: "evil:22", port: 4444 })));
    expect(r.error).toMatchObject({
      code: "VALIDATION_FAILED",
      path: "payload.request.to.address",
    });
    expect(calls).toEqual([]);
  });

  it("answers malformed JSON with BAD_JSON", async () => {
    const r = await send("status", "{not json");
    expect(r.error?.code).toBe("BAD_JSON");
  });

  it("refuses a request addressed to another host", async () => {
    const r = await send(
      "stop-server",
      request({ host: "h2", request: { action: "stop-server", server: "db1" } }),
    );
    expect(r.error).toMatchObject({ code: "REFUSED", path: "payload.host" });
    expect(calls).toEqual([]);
  });

  it("refuses an action sent on another action's subject", async () => {
    const r = await send("stop-server", request(recv({})));
    expect(r.error).toMatchObject({ code: "VALIDATION_FAILED", path: "payload.request.action" });
    expect(calls).toEqual([]);
  });

  it("refuses an unknown server", async () => {
    const r = await send(
      "stop-server",
      request({ request: { action: "stop-server", server: "db9" } }),
    );
    expect(r.error).toMatchObject({ code: "UNKNOWN_SERVER", path: "payload.request.server" });
  });

  it("refuses to empty a directory that is not a datadir, before stopping anything", async () => {
    const r = await send(
      "receive-backup",
      request({ opId: "op-notdata", ...recv({ server: "db2" }) }),
    );
    expect(r.error?.code).toBe("REFUSED");
    expect(r.error?.message).toMatch(/does not look like a MariaDB datadir/);
    expect(calls).toEqual([]);
    expect(await readdir(join(base, "notdata"))).toEqual(["report.pdf"]);
  });

  it("refuses TLS without TLS files, before stopping anything", async () => {
    const r = await send("receive-backup", request({ opId: "op-tls", ...recv({ tls: true }) }));
    expect(r.error?.code).toBe("REFUSED");
    expect(calls).toEqual([]);
    expect((await readdir(join(base, "data"))).sort()).toEqual(["ibdata1", "mysql"]);
  });

  it("refuses a port that is taken, before stopping anything", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "0.0.0.0", () => r()));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = await send("receive-backup", request({ opId: "op-port", ...recv({ port }) }));
      expect(r.error).toMatchObject({ code: "REFUSED", path: "payload.request.port" });
      expect(calls).toEqual([]);
    } finally {
      taken.close();
    }
  });

  const stop = (epoch: number, server = "db1") =>
    send(
      "stop-server",
      request({ epoch, opId: `op-e${epoch}`, request: { action: "stop-server", server } }),
    );

  it.each([
    ["below the lease", 0, "STALE_EPOCH", false],
    ["above the lease", 2, "FUTURE_EPOCH", true],
    ["far above the lease", Number.MAX_SAFE_INTEGER, "FUTURE_EPOCH", true],
  ])("fences: an epoch %s is refused and not learnt", async (_n, epoch, code, retryable) => {
    const r = await stop(epoch);
    expect(r.error).toMatchObject({ code, retryable, path: "payload.epoch" });
    expect(r.data).toMatchObject({ currentEpoch: 1 });
    expect(calls).toEqual([]);
  });

  it("fences: a refused request for an unknown server with a huge epoch locks nobody out", async () => {
    const r = await stop(Number.MAX_SAFE_INTEGER, "db9");
    expect(r.error?.code).toBe("UNKNOWN_SERVER");
    // The leader's epoch still acts (and actually runs).
    const ok = await stop(1);
    expect(ok.ok).toBe(true);
    expect(calls).toEqual(["stop db1"]);
    calls.length = 0;
  });

  it("fences: without a lease nothing acts (retryable), status still answers", async () => {
    lease.set("main", null);
    try {
      const r = await stop(1);
      expect(r.error).toMatchObject({ code: "LEASE_UNAVAILABLE", retryable: true });
      expect(calls).toEqual([]);
      expect((await send("status", request({ request: { action: "status" } }))).ok).toBe(true);
    } finally {
      lease.set("main", 1);
    }
  });

  it("always replies with a valid agent-result envelope", () => {
    expect(published.every((s) => s.startsWith("marina.v1.agent.h1."))).toBe(true);
  });
});
