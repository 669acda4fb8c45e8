// The monitor as a process: node services/monitor/dist/main.js. A bad config file is one
// line on stderr; an unreachable NATS is logged and retried until it comes up; SIGTERM
// stops it cleanly; the admin password never appears in its output.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  freePort,
  jsonLines,
  type Lab,
  type NatsServer,
  runServiceMain,
  type ServiceRun,
  startLab,
  startNats,
  stopServiceRun,
  waitFor,
} from "@marina/lab";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

const runMain = (args: string[], env: NodeJS.ProcessEnv = {}) => runServiceMain(MAIN, args, env);

describe("main.js", () => {
  let dir: string;
  beforeAll(async () => {
    expect(existsSync(MAIN), `${MAIN} is missing: run pnpm build first`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), "marina-monitor-test-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("rejects a bad config file with one line naming the field", async () => {
    const file = join(dir, "bad.yaml");
    await writeFile(
      file,
      [
        "clusters:",
        "  - name: main",
        "    servers:",
        "      - { name: db1, host: 127.0.0.1, port: 99999 }",
        "    admin: { user: marina, password: { value: x } }",
        "    replication: { user: repl, password: { value: y } }",
        "",
      ].join("\n"),
    );
    const run = runMain(["--config", file]);
    const { code } = await run.exit;
    expect(code).toBe(2);
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("clusters.0.servers.0.port");
    expect(lines[0]).toContain(file);
  });

  it("rejects a missing config file and unknown flags", async () => {
    const missing = runMain(["--config", join(dir, "nope.yaml")]);
    expect((await missing.exit).code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml: cannot read/);
    const bogus = runMain(["--config", "x", "--frobnicate"]);
    expect((await bogus.exit).code).toBe(2);
    expect(bogus.stderr).toMatch(/unknown argument "--frobnicate"/);
  });

  it("rejects --clusters naming a cluster the config lacks", async () => {
    const file = join(dir, "two.json");
    const cluster = (name: string) => ({
      name,
      servers: [{ name: "db1", host: "127.0.0.1" }],
      admin: { user: "marina", password: { value: "x" } },
      replication: { user: "repl", password: { value: "y" } },
    });
    await writeFile(file, JSON.stringify({ clusters: [cluster("c1"), cluster("c2")] }));
    const run = runMain(["--config", file, "--clusters", "c1,c9"]);
    expect((await run.exit).code).toBe(2);
    expect(run.stderr.trimEnd()).toBe(
      'marina-monitor: --clusters: cluster "c9" not in the config (configured: c1, c2)',
    );
  });

  describe("with a database and a NATS that starts late", () => {
    let lab: Lab;
    let nats: NatsServer | undefined;
    let run: ServiceRun | undefined;

    beforeAll(async () => {
      lab = await startLab({ shape: "primary-replicas", nodes: 1, nats: false });
    });
    afterAll(async () => {
      await stopServiceRun(run);
      await nats?.close();
      await lab?.close();
    });

    it("logs that NATS is unreachable, retries, then connects and publishes", async () => {
      const port = await freePort();
      const url = `nats://127.0.0.1:${port}`;
      const file = join(dir, "late-nats.yaml");
      const db = lab.primary;
      await writeFile(
        file,
        JSON.stringify({
          nats: { servers: [url] },
          clusters: [
            {
              name: "main",
              servers: [{ name: "db1", host: db.host, port: db.port }],
              admin: { user: lab.credentials.marina.user, password: { env: "TEST_ADMIN_PW" } },
              replication: { user: "repl", password: { value: "unused" } },
              monitor: { intervalMs: 200 },
            },
          ],
        }),
      );
      run = runMain(["--config", file, "--monitor-id", "m-proc", "--http-port", "0"], {
        TEST_ADMIN_PW: lab.credentials.marina.password,
      });
      const current = run;
      const retries = () =>
        jsonLines(current.stdout).filter((l) => String(l.msg).includes("cannot connect to NATS"));
      // At least two attempts: it retries rather than giving up.
      const refused = await waitFor(() => (retries().length >= 2 ? retries() : undefined), {
        timeoutMs: 20_000,
        message: "two NATS retry log lines",
        describe: () => current.stdout + current.stderr,
      });
      expect(String(refused[0]!.msg)).toContain(url);
      expect(refused[0]).toMatchObject({ level: 50, monitor: "m-proc" });

      // /healthz answers, and says NATS is down.
      const listening = jsonLines(current.stdout).find((l) => l.msg === "http listening");
      const httpUrl = String(listening?.url);
      const down = await fetch(`${httpUrl}/healthz`);
      expect(down.status).toBe(503);

      nats = await startNats({ dir: join(lab.dir, "late-nats"), port });
      expect(nats.port).toBe(port);
      const nc = await connect({ servers: url });
      try {
        const sub = nc.subscribe("marina.v1.main.health.db1", { max: 1 });
        await waitFor(() => jsonLines(current.stdout).some((l) => l.msg === "connected to NATS"), {
          timeoutMs: 30_000,
          message: "the monitor to connect to NATS",
        });
        for await (const m of sub) {
          const doc = m.json<{ source: string; payload: { reachable: boolean } }>();
          expect(doc.source).toBe("monitor/m-proc");
          expect(doc.payload.reachable).toBe(true);
        }
        const up = await waitFor(async () => {
          const r = await fetch(`${httpUrl}/healthz`);
          return r.status === 200 ? r : undefined;
        }, 10_000);
        expect(await up.json()).toMatchObject({ status: "ok", nats: true });
        const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
        expect(metrics).toMatch(/marina_monitor_probes_total\{cluster="main",server="db1"\} \d+/);
      } finally {
        await nc.close();
      }

      current.child.kill("SIGTERM");
      expect((await current.exit).code).toBe(0);
      expect(jsonLines(current.stdout).some((l) => l.msg === "monitor stopped")).toBe(true);
      expect(current.stdout + current.stderr).not.toContain(lab.credentials.marina.password);
    });
  });
});
