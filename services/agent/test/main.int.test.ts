import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentHeartbeatMessage, mustParse, subjects } from "@marina/contracts";
import type { MariaNode } from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeciderClient } from "./helpers.js";

// The real entry point: `node dist/main.js --config agent.yaml` as its own process.

const MAIN = join(import.meta.dirname, "..", "dist", "main.js");
const MARIADBD = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"].find((p) => existsSync(p))!;

describe("marina-agent process, bad configs", () => {
  let dir: string;
  beforeAll(async () => {
    expect(existsSync(MAIN), `${MAIN} is missing: run pnpm build first`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), "marina-agent-test-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (args: string[]) =>
    spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", timeout: 20_000 });

  it("rejects unknown flags and a missing config file with exit code 2", () => {
    const bogus = run(["--config", "x", "--bogus"]);
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/^marina-agent: unknown argument "--bogus"; usage: /);
    const missing = run(["--config", join(dir, "nope.yaml")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml: cannot read/);
  });

  it.each([
    ["nats.password", { password: { env: "MARINA_TEST_UNSET_NATS_PW" } }, { value: "x" }],
    ["backup", {}, { env: "MARINA_TEST_UNSET_BACKUP_PW" }],
  ])(
    "fails at once with exit code 2 when the %s secret's variable is unset",
    async (what, nats, backupPassword) => {
      const file = join(dir, `unset-${what}.json`);
      // Nothing listens there: an agent that tried to connect would retry for ever.
      await writeFile(
        file,
        JSON.stringify({
          host: "h1",
          nats: { servers: ["nats://127.0.0.1:1"], ...nats },
          advertiseAddress: "127.0.0.1",
          backup: { user: "marina_backup", password: backupPassword },
          servers: [{ name: "db1", cluster: "main", datadir: "/var/lib/mysql" }],
        }),
      );
      const r = run(["--config", file]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(
        what === "nats.password"
          ? /^marina-agent: nats\.password: /
          : /MARINA_TEST_UNSET_BACKUP_PW/,
      );
      expect(r.stdout).not.toContain("cannot connect to NATS");
    },
  );
});

describe("marina-agent process", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 1, nats: true });
  let child: ChildProcess | undefined;
  let client: DeciderClient | undefined;

  afterAll(async () => {
    await client?.close();
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });

  it("starts from a config file, heartbeats, answers, and stops on SIGTERM", async () => {
    const lab = getLab();
    const node = lab.nodes[0] as MariaNode;
    const config = join(lab.dir, "agent.yaml");
    // Process control pointed at the lab's own server: liveness comes from its pid file.
    await writeFile(
      config,
      JSON.stringify({
        host: "main-test",
        nats: { servers: [lab.nats!.url] },
        advertiseAddress: "127.0.0.1",
        backup: { user: lab.credentials.backup.user, password: { env: "TEST_BACKUP_PW" } },
        tmpDir: join(lab.dir, "agent-tmp"),
        servers: [
          {
            name: node.name,
            cluster: "main",
            datadir: node.datadir,
            defaultsFile: node.defaultsFile,
            socket: node.socket,
            service: {
              kind: "process",
              start: [MARIADBD, `--defaults-file=${node.defaultsFile}`],
              pidFile: join(node.dir, "mariadbd.pid"),
            },
          },
        ],
      }),
    );
    client = await DeciderClient.connect(lab.nats!.url);
    const beats = client.nc.subscribe(subjects.agentHeartbeat("main-test"), { max: 1 });
    let stderr = "";
    child = spawn(process.execPath, [MAIN, "--config", config], {
      env: { ...process.env, TEST_BACKUP_PW: lab.credentials.backup.password },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    for await (const m of beats) {
      const hb = mustParse(AgentHeartbeatMessage, m.json()).payload;
      expect(hb.servers).toEqual([
        { name: node.name, datadir: node.datadir, mariadbdRunning: true, pid: node.pid },
      ]);
    }
    const status = await client.request("main-test", { action: "status" });
    expect(status.ok).toBe(true);
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    expect(code, stderr).toBe(0);
  });
});
