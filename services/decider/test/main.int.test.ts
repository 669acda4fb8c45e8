// The decider as a process: node services/decider/dist/main.js. A bad flag, config file or
// missing NATS password secret is one line on stderr and exit code 2, at once (no NATS
// retry); with NATS up it takes the lease, and SIGTERM releases it and exits 0.
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LEASE_BUCKET } from "@marina/contracts";
import {
  freePorts,
  jsonLines,
  makeLabDir,
  type NatsServer,
  removeTree,
  runServiceMain,
  type ServiceRun,
  startNats,
  waitFor,
} from "@marina/lab";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLease } from "../src/lease.js";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

const runMain = (args: string[]) => runServiceMain(MAIN, args, { LOG_LEVEL: "info" });

/** A Marina config with one cluster; `nats` as given. */
function configText(nats: Record<string, unknown>): string {
  return JSON.stringify({
    nats,
    clusters: [
      {
        name: "main",
        servers: [{ name: "db1", host: "127.0.0.1", port: 3306 }],
        admin: { user: "marina", password: { value: "x" } },
        replication: { user: "repl", password: { value: "y" } },
      },
    ],
  });
}

describe("marina-decider process", () => {
  let dir: string;
  let nats: NatsServer | undefined;
  const conns: NatsConnection[] = [];
  const runs: ServiceRun[] = [];

  beforeAll(async () => {
    expect(existsSync(MAIN), `${MAIN} is missing: run pnpm build first`).toBe(true);
    dir = await makeLabDir();
  });
  afterAll(async () => {
    for (const r of runs) if (r.child.exitCode === null) r.child.kill("SIGKILL");
    for (const c of conns) await c.close();
    await nats?.stop();
    await removeTree(dir);
  });

  it("rejects unknown flags, a missing config file and a bad --lease-ttl-ms with exit code 2", async () => {
    const bogus = runMain(["--config", "x", "--bogus"]);
    expect((await bogus.exit).code).toBe(2);
    expect(bogus.stderr).toMatch(/^marina-decider: unknown argument "--bogus"; usage: /);
    const missing = runMain(["--config", join(dir, "nope.yaml")]);
    expect((await missing.exit).code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml: cannot read/);
    const ttl = runMain(["--config", "x", "--lease-ttl-ms", "0"]);
    expect((await ttl.exit).code).toBe(2);
    expect(ttl.stderr).toContain("--lease-ttl-ms must be a positive integer");
  });

  it("fails at once with exit code 2 naming nats.password when its variable is unset", async () => {
    const file = join(dir, "no-secret.json");
    // Nothing listens there: a decider that tried to connect would retry for ever.
    await writeFile(
      file,
      configText({
        servers: ["nats://127.0.0.1:1"],
        user: "marina",
        password: { env: "MARINA_TEST_UNSET_NATS_PW" },
      }),
    );
    const started = performance.now();
    const run = runMain(["--config", file]);
    runs.push(run);
    const { code } = await run.exit;
    expect(code, run.stderr).toBe(2);
    expect(performance.now() - started).toBeLessThan(10_000);
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^marina-decider: nats\.password: /);
    expect(lines[0]).toContain("MARINA_TEST_UNSET_NATS_PW");
    expect(run.stdout).not.toContain("cannot connect to NATS");
  });

  it("fails at once with exit code 2 naming api.tokens.0.token when its variable is unset", async () => {
    const file = join(dir, "no-token.json");
    const cfg = JSON.parse(configText({ servers: ["nats://127.0.0.1:1"] }));
    cfg.api = { port: 0, tokens: [{ name: "ops", token: { env: "MARINA_TEST_UNSET_API_TOKEN" } }] };
    await writeFile(file, JSON.stringify(cfg));
    const run = runMain(["--config", file]);
    runs.push(run);
    const { code } = await run.exit;
    expect(code, run.stderr).toBe(2);
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^marina-decider: .*api\.tokens\.0\.token/);
    expect(lines[0]).toContain("MARINA_TEST_UNSET_API_TOKEN");
  });

  it("takes the lease, and on SIGTERM releases it and exits 0", async () => {
    nats = await startNats({ dir });
    const file = join(dir, "ok.json");
    await writeFile(file, configText({ servers: [nats.url] }));
    const [apiPort] = await freePorts(1);
    const run = runMain([
      "--config",
      file,
      "--id",
      "decider-proc",
      "--lease-ttl-ms",
      "60000",
      "--api-port",
      String(apiPort),
    ]);
    runs.push(run);
    const client = await connect({ servers: nats.url });
    conns.push(client);
    // nats-server 2.9.10 crashes (nil store in jsMsgGetRequest) on a message get that
    // arrives while the stream is being created: that was this test's "JetStream stalls"
    // flake. Stream info is safe then; a stored message means the store exists.
    const jsm = await jetstreamManager(client);
    await waitFor(
      async () =>
        ((await jsm.streams.info(`KV_${LEASE_BUCKET}`).catch(() => undefined))?.state.messages ??
          0) > 0
          ? true
          : undefined,
      {
        timeoutMs: 60_000,
        message: "the lease bucket with a message in it",
        describe: async () =>
          `${run.stdout}${run.stderr}\nnats-server log:\n${(await readFile(nats!.logFile, "utf8").catch(() => "")).split("\n").slice(-30).join("\n")}`,
      },
    );
    const lease = await waitFor(
      async () => {
        const r = await readLease(await new Kvm(client).open(LEASE_BUCKET), "main");
        return r?.holder === "decider-proc" ? r : undefined;
      },
      {
        // Not a speed check: a JetStream that stalls (seen in CI: 20 s of timeouts on a
        // loaded machine) is retried by the decider, and the test waits for that to win.
        timeoutMs: 60_000,
        message: "decider-proc holding the lease",
        describe: async () =>
          `${run.stdout}${run.stderr}\nnats-server log:\n${(await readFile(nats!.logFile, "utf8").catch(() => "")).split("\n").slice(-30).join("\n")}`,
      },
    );
    expect(lease.epoch).toBeGreaterThan(0);
    const started = jsonLines(run.stdout).find((l) => l.msg === "decider started");
    expect(started).toMatchObject({ name: "marina-decider", decider: "decider-proc" });
    // --api-port serves the HTTP API (no tokens: nothing can be changed through it).
    const health = await fetch(`http://127.0.0.1:${apiPort}/healthz`);
    expect(await health.json()).toMatchObject({ status: "ok", decider: "decider-proc" });
    const denied = await fetch(`http://127.0.0.1:${apiPort}/clusters/main/commands/pause`, {
      method: "POST",
    });
    expect(denied.status).toBe(401);

    run.child.kill("SIGTERM");
    const { code } = await run.exit;
    expect(code, run.stderr).toBe(0);
    // Released, not left to expire (the TTL is a minute).
    expect(await readLease(await new Kvm(client).open(LEASE_BUCKET), "main")).toBeUndefined();
  });
});
