// The monitor as its own OS process under its own group id, and an iptables rule that drops
// only that group's packets to one loopback port: "only the monitor lost the primary"
// without network namespaces (shared/LAB.md, "Test technique").
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { serviceMain } from "../src/stack.js";

export interface MonitorProcess {
  readonly child: ChildProcess;
  readonly gid: number;
  /** Last lines the process wrote, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** A gid unlikely to be used by anything else on the machine, distinct per test process. */
export function testGid(): number {
  return 47_000 + (process.pid % 2_000);
}

export function spawnMonitor(configFile: string, monitorId: string, gid: number): MonitorProcess {
  const child = spawn(
    "setpriv",
    [
      "--regid",
      String(gid),
      "--clear-groups",
      "--",
      process.execPath,
      serviceMain("@marina/monitor"),
      "--config",
      configFile,
      "--monitor-id",
      monitorId,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "info" } },
  );
  const lines: string[] = [];
  const keep = (b: Buffer) => {
    lines.push(...b.toString().split("\n").filter(Boolean));
    if (lines.length > 50) lines.splice(0, lines.length - 50);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    child,
    gid,
    output: () => lines.join("\n"),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** `iptables` arguments of the rule that drops gid's TCP packets to a loopback port. */
function ruleArgs(port: number, gid: number): string[] {
  return [
    "OUTPUT",
    "-o",
    "lo",
    "-p",
    "tcp",
    "--dport",
    String(port),
    "-m",
    "owner",
    "--gid-owner",
    String(gid),
    "-j",
    "DROP",
  ];
}

function ruleExists(port: number, gid: number): boolean {
  try {
    execFileSync("iptables", ["-C", ...ruleArgs(port, gid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function cutLoopback(port: number, gid: number): void {
  execFileSync("iptables", ["-I", ...ruleArgs(port, gid)], { stdio: "pipe" });
}

/** Removes every copy of the rule; safe to call when there is none. */
export function restoreLoopback(port: number, gid: number): void {
  while (ruleExists(port, gid)) {
    execFileSync("iptables", ["-D", ...ruleArgs(port, gid)], { stdio: "pipe" });
  }
}
