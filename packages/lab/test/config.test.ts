import { describe, expect, it } from "vitest";
import { accountStatements } from "../src/accounts.js";
import { DEFAULT_CREDENTIALS } from "../src/credentials.js";
import { renderMyCnf } from "../src/mycnf.js";
import { quoteIdent } from "../src/sql.js";

const spec = {
  datadir: "/tmp/marina-lab-x/db2/data",
  socket: "/tmp/marina-lab-x/db2/mariadb.sock",
  port: 23306,
  host: "127.0.0.1",
  pidFile: "/tmp/marina-lab-x/db2/mariadbd.pid",
  tmpDir: "/tmp/marina-lab-x/db2/tmp",
  errorLog: "/tmp/marina-lab-x/db2/error.log",
  serverId: 2,
  domainId: 0,
  readOnly: true,
  semiSyncSlave: true,
};

describe("renderMyCnf", () => {
  it("writes the replication, semi-sync and small-memory settings", () => {
    const cnf = renderMyCnf(spec);
    for (const line of [
      "[mysqld]",
      "user=root",
      "server_id=2",
      "gtid_domain_id=0",
      "log_bin=binlog",
      "relay_log=relay",
      "log_slave_updates=1",
      "gtid_strict_mode=1",
      "binlog_format=ROW",
      "slave_net_timeout=3",
      "skip_name_resolve",
      "read_only=1",
      "rpl_semi_sync_master_enabled=0",
      "rpl_semi_sync_slave_enabled=1",
      "rpl_semi_sync_master_wait_point=AFTER_SYNC",
      "innodb_buffer_pool_size=32M",
      "performance_schema=0",
      "port=23306",
      "bind_address=127.0.0.1",
    ]) {
      expect(cnf.split("\n")).toContain(line);
    }
    expect(cnf).toMatch(/\[client\]\nsocket=\/tmp\/marina-lab-x\/db2\/mariadb.sock\nuser=root/);
  });

  it("lets extra settings override and drop defaults", () => {
    const cnf = renderMyCnf({ ...spec, extra: { sync_binlog: 0, performance_schema: false } });
    expect(cnf).toContain("sync_binlog=0");
    expect(cnf).not.toContain("sync_binlog=1");
    expect(cnf).not.toContain("performance_schema");
  });
});

describe("accountStatements", () => {
  it("creates everything without binlogging, app limited to its database", () => {
    const st = accountStatements(DEFAULT_CREDENTIALS);
    expect(st[0]?.sql).toBe("SET SESSION sql_log_bin=0");
    const sql = st.map((s) => s.sql).join("\n");
    expect(sql).toContain("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON `app`.* TO 'app'@'%'");
    expect(sql).not.toContain("secret"); // passwords go as parameters
  });

  it("gives Marina's accounts least privilege: no ALL, no GRANT OPTION", () => {
    const sql = accountStatements(DEFAULT_CREDENTIALS)
      .map((s) => s.sql)
      .join("\n");
    expect(sql).not.toMatch(/ALL PRIVILEGES|GRANT OPTION|SUPER/);
    for (const host of ["%", "localhost"]) {
      expect(sql).toContain(
        `GRANT READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, CONNECTION ADMIN, RELOAD, PROCESS, SLAVE MONITOR ON *.* TO 'marina'@'${host}'`,
      );
      expect(sql).toContain(`GRANT SLAVE MONITOR, PROCESS ON *.* TO 'marina_monitor'@'${host}'`);
      expect(sql).toContain(`GRANT REPLICATION SLAVE ON *.* TO 'repl'@'${host}'`);
    }
    // The agents' account reaches the socket only.
    expect(sql).toContain("TO 'marina_backup'@'localhost'");
    expect(sql).not.toContain("'marina_backup'@'%'");
  });
});

describe("quoteIdent", () => {
  it("quotes safe names and refuses the rest", () => {
    expect(quoteIdent("app.lab_rows")).toBe("`app`.`lab_rows`");
    expect(() => quoteIdent("a`b")).toThrow();
    expect(() => quoteIdent("a.b.c")).toThrow();
  });
});
