// A real HAProxy (Debian's package) in front of the lab, checking each server against the
// deciders' HTTP API as docs/http-api.md shows (per-server `uri-lf …/%[srv_name]/primary`
// through a loopback listener that spreads the checks over the deciders). Writes through
// HAProxy's write port reach db1; after kill -9 of db1 they reach the new primary; with
// every decider gone HAProxy routes nothing rather than something stale.
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ApiSettings } from "@marina/contracts";
import { closeQuietly, freePorts, openConnection, waitFor } from "@marina/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../src/stack.js";

/** Debian's package (scripts/setup.sh installs it); missing, the test fails, saying so. */
const haproxyBin = "haproxy";

function haproxyConfig(o: {
  apiPort: number;
  writePort: number;
  deciders: string[];
  servers: Array<{ name: string; host: string; port: number }>;
}): string {
  return [
    "global",
    "  log stderr format raw local0 info",
    "defaults",
    "  log global",
    "  timeout connect 1s",
    "  timeout client 30s",
    "  timeout server 30s",
    "listen marina_api",
    "  mode http",
    `  bind 127.0.0.1:${o.apiPort}`,
    "  balance roundrobin",
    "  retries 2",
    "  option redispatch 1",
    "  option httpchk GET /healthz",
    "  default-server inter 500ms fall 2 rise 1",
    ...o.deciders.map((url, i) => `  server decider${i + 1} ${new URL(url).host} check`),
    "listen mariadb_write",
    "  mode tcp",
    `  bind 127.0.0.1:${o.writePort}`,
    "  option httpchk",
    `  http-check connect addr 127.0.0.1 port ${o.apiPort}`,
    "  http-check send meth GET uri-lf /clusters/main/servers/%[srv_name]/primary",
    "  http-check expect status 200",
    "  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions",
    ...o.servers.map((s) => `  server ${s.name} ${s.host}:${s.port} check`),
    "",
  ].join("\n");
}

describe("HAProxy in front of the lab, checking against the deciders", () => {
  let stack: Stack;
  let haproxy: ReturnType<typeof spawn> | undefined;
  const haproxyLog: string[] = [];
  let writePort = 0;

  /** One write through HAProxy: the port of the server that took it, or the error. */
  async function writeThrough(): Promise<{ port: number } | { error: string }> {
    const app = stack.lab.credentials.app;
    let conn: Awaited<ReturnType<typeof openConnection>> | undefined;
    try {
      conn = await openConnection({
        user: app.user,
        password: app.password,
        host: "127.0.0.1",
        port: writePort,
        database: app.database,
        connectTimeoutMs: 1_000,
        socketTimeoutMs: 3_000,
      });
      await conn.query("INSERT INTO haproxy_probe (port) VALUES (@@port)");
      const rows = (await conn.query("SELECT @@port AS port")) as Array<{ port: number }>;
      return { port: Number(rows[0]?.port) };
    } catch (err) {
      return { error: (err as Error).message };
    } finally {
      await closeQuietly(conn);
    }
  }

  beforeAll(async () => {
    const version = spawnSync(haproxyBin, ["-v"], { encoding: "utf8" });
    expect(version.status, "haproxy is not installed (apt-get install haproxy)").toBe(0);
    stack = await startStack({ lab: { nodes: 3, semiSync: true }, deciders: 0 });
    const api = ApiSettings.parse({ host: "127.0.0.1", port: 0, openReads: true });
    const d1 = await stack.startDecider("decider-1", { api });
    await waitFor(() => d1.app.leading().includes("main"), { timeoutMs: 20_000 });
    const d2 = await stack.startDecider("decider-2", { api });
    // The leader knows db1 as the writer before HAProxy asks.
    await waitFor(
      async () => {
        const r = await fetch(`${d1.app.apiUrl}/clusters/main/primary`);
        return r.status === 200 && ((await r.json()) as { server: string }).server === "db1";
      },
      { timeoutMs: 30_000, message: "db1 the writer in the decider's primary check" },
    );
    await stack.lab
      .node("db1")
      .query(
        "CREATE TABLE IF NOT EXISTS app.haproxy_probe (id INT AUTO_INCREMENT PRIMARY KEY, port INT)",
      );
    const [apiPort, port] = await freePorts(2);
    writePort = port!;
    const cfg = join(stack.lab.dir, "haproxy.cfg");
    writeFileSync(
      cfg,
      haproxyConfig({
        apiPort: apiPort!,
        writePort,
        deciders: [d1.app.apiUrl!, d2.app.apiUrl!],
        servers: stack.lab.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port })),
      }),
    );
    const check = spawnSync(haproxyBin, ["-c", "-f", cfg], { encoding: "utf8" });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    haproxy = spawn(haproxyBin, ["-db", "-f", cfg], { stdio: ["ignore", "pipe", "pipe"] });
    haproxy.stderr?.on("data", (b: Buffer) => haproxyLog.push(b.toString()));
    haproxy.stdout?.on("data", (b: Buffer) => haproxyLog.push(b.toString()));
    // HAProxy starts every server UP: wait until its checks have taken the replicas out.
    await waitFor(
      () => {
        const log = haproxyLog.join("");
        return (
          log.includes("mariadb_write/db2 is DOWN") && log.includes("mariadb_write/db3 is DOWN")
        );
      },
      { timeoutMs: 20_000, message: "HAProxy's checks marking db2 and db3 down" },
    );
    expect(haproxyLog.join("")).not.toContain("mariadb_write/db1 is DOWN");
  }, 120_000);
  afterAll(async () => {
    if (haproxy && haproxy.exitCode === null) haproxy.kill("SIGKILL");
    await stack?.close();
  });

  it("writes reach the primary, the new one after kill -9, and nothing once the deciders are gone", async () => {
    const { lab } = stack;
    let last: unknown;
    const lastLog = async () => {
      const api = await fetch(`${stack.deciders[0]!.app.apiUrl}/clusters/main/primary`)
        .then((r) => r.text())
        .catch((e: Error) => e.message);
      const servers = haproxyLog
        .join("")
        .split("\n")
        .filter((l) => l.startsWith("Server") || l.includes("no server"))
        .slice(-10);
      const status = await fetch(`${stack.deciders[0]!.app.apiUrl}/clusters/main/status`)
        .then((r) => r.text())
        .catch((e: Error) => e.message);
      const events = await fetch(`${stack.deciders[0]!.app.apiUrl}/clusters/main/events?limit=10`)
        .then((r) => r.text())
        .catch((e: Error) => e.message);
      return [
        `last write: ${JSON.stringify(last)}`,
        `API: ${api}`,
        `status: ${status.slice(0, 3000)}`,
        `events: ${events.slice(0, 3000)}`,
        ...servers,
      ].join("\n");
    };
    const db1 = lab.node("db1");
    await waitFor(
      async () => {
        const r = await writeThrough();
        return "port" in r && r.port === db1.port;
      },
      { timeoutMs: 30_000, message: "a write through HAProxy on db1", describe: lastLog },
    );

    await db1.kill9();
    const reached = await waitFor(
      async () => {
        const r = await writeThrough();
        last = r;
        return "port" in r && r.port !== db1.port ? r.port : undefined;
      },
      {
        timeoutMs: 60_000,
        message: "a write through HAProxy on the new primary",
        describe: lastLog,
      },
    );
    const status = (await (
      await fetch(`${stack.deciders[0]!.app.apiUrl}/clusters/main/primary`)
    ).json()) as { server: string; port: number };
    expect(status.port).toBe(reached);
    expect(["db2", "db3"]).toContain(status.server);
    // Only there: every write through HAProxy lands on the new primary.
    for (let i = 0; i < 5; i++) expect(await writeThrough()).toEqual({ port: reached });

    for (const d of stack.deciders) await d.app.close();
    await waitFor(async () => "error" in (await writeThrough()), {
      timeoutMs: 15_000,
      message: "HAProxy refusing writes with the deciders gone",
      describe: lastLog,
    });
    // And it stays so: nothing is routed on stale knowledge.
    for (let i = 0; i < 5; i++) {
      expect("error" in (await writeThrough())).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
    }
  }, 180_000);
});
