import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AgentHeartbeatMessage, mustParse, subjects } from "@marina/contracts";
import type { MariaNode } from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { afterAll, describe, expect, it } from "vitest";
import { DeciderClient } from "./helpers.js";

// The real entry point: `node dist/main.js --config agent.yaml` as its own process.

const MAIN = join(import.meta.dirname, "..", "dist", "main.js");
const MARIADBD = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"].find((p) => existsSync(p))!;

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
        backup: { user: lab.credentials.marina.user, password: { env: "TEST_BACKUP_PW" } },
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
      env: { ...process.env, TEST_BACKUP_PW: lab.credentials.marina.password },
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
