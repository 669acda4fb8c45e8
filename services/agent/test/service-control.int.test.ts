import { existsSync } from "node:fs";
import { join } from "node:path";
import { type MariaNode, writeRows } from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { afterAll, describe, expect, it } from "vitest";
import { AgentConfig, killServer, processControl, type ServiceControl } from "../src/index.js";

// The `process` service control on a real mariadbd: the lab stops its node, the agent's
// control starts the same server from a fixed argv, finds it by its pid file, stops it.

const MARIADBD = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"].find((p) => existsSync(p))!;

describe("process service control", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 1, nats: false });
  let control: ServiceControl | undefined;

  afterAll(async () => {
    // Never leave a server the agent started behind, whatever failed.
    await control?.stop().catch(() => {});
  });

  it("starts, reports and stops mariadbd from an argv and a pid file", async () => {
    const node = getLab().nodes[0] as MariaNode;
    await node.stop();
    expect(node.isRunning()).toBe(false);
    const cfg = AgentConfig.parse({
      host: "h1",
      advertiseAddress: "127.0.0.1",
      backup: { user: "marina" },
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
            logFile: join(node.dir, "agent-started.out"),
            stopTimeoutMs: 60_000,
            startTimeoutMs: 60_000,
          },
        },
      ],
    });
    const server = cfg.servers[0]!;
    if (server.service.kind !== "process") throw new Error("config");
    control = processControl(server, server.service);
    expect(await control.status()).toEqual({ running: false, pid: null });

    await control.start();
    const up = await control.status();
    expect(up.running).toBe(true);
    expect(up.pid).toBeGreaterThan(1);
    // It is the real server: it answers SQL on its socket. It started read-only, as the
    // lab's my.cnf says (the recommended read_only=ON); writes are for whoever manages it.
    expect(await node.query("SELECT @@global.read_only AS ro")).toEqual([{ ro: 1 }]);
    await node.query("SET GLOBAL read_only=0");
    expect(await writeRows(node, 2)).toHaveLength(2);
    await control.start(); // already running: a no-op
    expect((await control.status()).pid).toBe(up.pid);

    // STONITH: a frozen (SIGSTOPped) mariadbd cannot be stopped by SIGTERM or fenced over
    // SQL, but SIGKILL ends it; nothing is done when it does not run.
    process.kill(up.pid!, "SIGSTOP");
    // Not this server's mariadbd (its cwd is another datadir): refused, not killed.
    await expect(killServer(control, "/var/lib", 2_000)).rejects.toThrow(/is not the mariadbd of/);
    expect(await killServer(control, node.datadir, 2_000)).toEqual({ killed: true, pid: up.pid });
    expect(await control.status()).toEqual({ running: false, pid: null });
    expect(await killServer(control, node.datadir, 2_000)).toEqual({ killed: false, pid: null });
    await control.start();
    expect((await control.status()).running).toBe(true);

    await control.stop();
    expect(await control.status()).toEqual({ running: false, pid: null });
    control = undefined;

    // Hand the server back to the lab.
    await node.start();
    expect(node.isRunning()).toBe(true);
  });
});
