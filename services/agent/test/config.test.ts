import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAgentConfig } from "../src/index.js";
import { configErrorOf } from "./config-errors.js";

const good = `
host: db1-host
advertiseAddress: 10.0.0.1
backup: { user: marina_backup, password: { env: MARINA_BACKUP_PASSWORD } }
servers:
  - name: db1
    cluster: main
    datadir: /var/lib/mysql
`;

describe("agent config", () => {
  it("fills the Debian defaults", () => {
    const c = parseAgentConfig(good);
    expect(c.servers[0]).toMatchObject({
      defaultsFile: "/etc/mysql/my.cnf",
      socket: "/run/mysqld/mysqld.sock",
      osUser: "mysql",
      service: { kind: "systemd", unit: "mariadb" },
    });
    expect(c.tools["mariadb-backup"]).toBe("/usr/bin/mariadb-backup");
    expect(c.transferPorts).toEqual({ from: 4444, to: 4463 });
    expect(c.timeouts.connectMs).toBe(120_000);
  });

  it("keeps saveDir outside every datadir", () => {
    expect(parseAgentConfig(`saveDir: /var/lib/marina-saved\n${good}`).saveDir).toBe(
      "/var/lib/marina-saved",
    );
    expect(configErrorOf(`saveDir: /var/lib/mysql/saved\n${good}`)).toMatch(
      /saveDir: must be outside the datadir of db1/,
    );
    expect(configErrorOf(`saveDir: /var/lib\n${good}`)).toMatch(/saveDir: must be outside/);
  });

  it("accepts process control with an absolute argv", () => {
    const c = parseAgentConfig(`${good}    service:
      kind: process
      start: [/usr/sbin/mariadbd, --defaults-file=/etc/mysql/my.cnf]
      pidFile: /run/mysqld/mysqld.pid
`);
    expect(c.servers[0]?.service).toMatchObject({ kind: "process", stopTimeoutMs: 120_000 });
  });

  it.each([
    ["datadir: /var/lib/mysql", "datadir: /", /servers\.0\.datadir: .*root directory/],
    ["datadir: /var/lib/mysql", "datadir: /etc", /servers\.0\.datadir: .*system directory/],
    ["datadir: /var/lib/mysql", "datadir: var/lib/mysql", /servers\.0\.datadir: .*absolute/],
    [
      "datadir: /var/lib/mysql",
      "datadir: /var/lib/mysql/../../etc",
      /servers\.0\.datadir: .*'\.\.'/,
    ],
    ["datadir: /var/lib/mysql", 'datadir: "/var/lib/my sql"', /servers\.0\.datadir/],
    ["name: db1", "name: db1;reboot", /servers\.0\.name: server name/],
    ["host: db1-host", "host: ../db", /host: host id/],
    ["user: marina_backup", 'user: "-uroot"', /backup\.user/],
  ])("refuses %s -> %s with the field path", (from, to, want) => {
    const msg = configErrorOf(good.replace(from, to));
    expect(msg).toMatch(/^agent\.yaml: /);
    expect(msg).toMatch(want);
    expect(msg.split("\n")).toHaveLength(1);
  });

  it("refuses a relative start program and a unit that is an option", () => {
    expect(
      configErrorOf(
        `${good}    service: { kind: process, start: [mariadbd], pidFile: /run/x.pid }\n`,
      ),
    ).toMatch(/servers\.0\.service\.start\.0: must be an absolute path/);
    expect(configErrorOf(`${good}    service: { kind: systemd, unit: "--all" }\n`)).toMatch(
      /servers\.0\.service\.unit/,
    );
  });

  it("needs each server's cluster (its lease fences the requests on it)", () => {
    expect(configErrorOf(good.replace("    cluster: main\n", ""))).toMatch(/servers\.0\.cluster/);
  });

  it("refuses a replicationFiltersFile that does not end in .cnf (an !includedir would skip it)", () => {
    const with_ = (f: string) => `${good}    replicationFiltersFile: ${f}\n`;
    expect(
      parseAgentConfig(with_("/etc/mysql/conf.d/marina-filters.cnf")).servers[0],
    ).toMatchObject({ replicationFiltersFile: "/etc/mysql/conf.d/marina-filters.cnf" });
    expect(configErrorOf(with_("/etc/mysql/conf.d/marina-filters.conf"))).toMatch(
      /servers\.0\.replicationFiltersFile: must end in \.cnf/,
    );
  });

  it("refuses two servers with one datadir", () => {
    const msg = configErrorOf(
      `${good}  - name: db2\n    cluster: main\n    datadir: /var/lib/mysql\n`,
    );
    expect(msg).toMatch(
      /servers\.1\.datadir: datadir \/var\/lib\/mysql is also the datadir of "db1"/,
    );
  });
});

describe("deploy/agent.example.yaml", () => {
  it("is a valid agent config", () => {
    const file = join(import.meta.dirname, "..", "..", "..", "deploy", "agent.example.yaml");
    const c = parseAgentConfig(readFileSync(file, "utf8"), file);
    // the agentHost of db1 in deploy/marina.example.yaml
    expect(c.host).toBe("db1");
    expect(c.nats.user).toBe("marina-agent-db1");
    expect(c.servers[0]?.datadir).toBe("/var/lib/mysql");
  });
});
