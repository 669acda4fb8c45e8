// The monitor's own account on real servers: the lab's read-only marina_monitor (SLAVE
// MONITOR, PROCESS) probes a primary and a replica completely — replication state and the
// client count included — and the start-up check finds nothing missing; an account
// without SLAVE MONITOR is named in a warning per server.

import type { MarinaConfig } from "@marina/contracts";
import { type Lab, startLab } from "@marina/lab";
import { memoryLogger } from "@marina/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MonitorHandle, startMonitor } from "../src/index.js";
import { labConfig, Recorder } from "./int-helpers.js";

/** The service's log, read back. */
function capture() {
  const { log, records } = memoryLogger("info");
  return { lines: records, log };
}

function withMonitorAccount(config: MarinaConfig, user: string, password: string): MarinaConfig {
  const [c] = config.clusters;
  return {
    ...config,
    clusters: [{ ...c!, monitorAccount: { user, password: { value: password } } }],
  };
}

describe("the monitor's account", () => {
  let lab: Lab;
  let rec: Recorder;
  let mon: MonitorHandle | undefined;

  beforeAll(async () => {
    lab = await startLab({ shape: "primary-replicas", nodes: 2 });
    rec = await Recorder.start(lab.nats!.url);
    const conn = await lab.node("db1").connect();
    try {
      await conn.query("SET SESSION sql_log_bin=0");
      await conn.query("CREATE USER 'mon_short'@'%' IDENTIFIED BY 'short-pw'");
      await conn.query("GRANT PROCESS ON *.* TO 'mon_short'@'%'");
    } finally {
      await conn.end();
    }
  });

  afterAll(async () => {
    await mon?.close();
    await rec?.close();
    await lab?.close();
  });

  it("marina_monitor probes everything with SLAVE MONITOR and PROCESS, and the check agrees", async () => {
    const { lines, log } = capture();
    // Another session on the primary: the client count sees it only with PROCESS.
    const app = await lab.node("db1").connect({ user: "app" });
    try {
      mon = await startMonitor({
        config: labConfig(lab, { intervalMs: 200 }),
        monitorId: "m-privileges",
        log,
        http: false,
      });
      const results = await mon.privileges;
      expect(
        results.map((r) => (r.kind === "checked" ? [r.report.account, r.report.missing] : r)),
      ).toEqual([
        ["'marina_monitor'@'%'", []],
        ["'marina_monitor'@'%'", []],
      ]);
      await mon.ready;
      const replica = await rec.waitHealth("db2", (s) => s.reachable);
      expect(replica.payload.observation?.replication).toEqual([
        expect.objectContaining({ connection: "", ioThread: "Yes", sqlThread: true }),
      ]);
      const primary = await rec.waitHealth("db1", (s) => s.reachable);
      expect(primary.payload.observation?.clientConnections).toBeGreaterThanOrEqual(1);
      expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    } finally {
      app.destroy();
      await mon?.close();
      mon = undefined;
    }
  });

  it("an account without SLAVE MONITOR: the warning names it and why; db2 lacks the account", async () => {
    const { lines, log } = capture();
    mon = await startMonitor({
      config: withMonitorAccount(labConfig(lab), "mon_short", "short-pw"),
      monitorId: "m-short",
      log,
      http: false,
    });
    const results = await mon.privileges;
    expect(results.map((r) => [r.server, r.kind])).toEqual([
      ["db1", "checked"],
      ["db2", "unreadable"], // the account exists on db1 only: refused, noted, no crash
    ]);
    const warn = lines.find((l) => l.level === 40 && l.code === "MISSING_PRIVILEGE");
    expect(warn).toMatchObject({
      cluster: "main",
      server: "db1",
      account: "'mon_short'@'%'",
      missing: [{ privilege: "SLAVE MONITOR", on: "*.*" }],
      grant: ["GRANT SLAVE MONITOR ON *.* TO 'mon_short'@'%'"],
    });
    expect(warn?.msg).toMatch(
      /^the monitor's MariaDB account 'mon_short'@'%' on db1 lacks SLAVE MONITOR \(or SUPER\): SHOW ALL SLAVES STATUS/,
    );
    expect(lines.find((l) => l.server === "db2")).toMatchObject({ level: 30, user: "mon_short" });
    expect(JSON.stringify(lines)).not.toContain("short-pw");
  });
});
