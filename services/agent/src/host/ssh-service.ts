import { readProcFile, systemctl, systemctlMainPid } from "@marina/hostops";
import type { AgentServerConfig } from "../config.js";
import type { ServiceControl } from "./service-control.js";
import type { SshConnection } from "./ssh-connection.js";

/** `systemctl stop|start <unit>` over SSH; liveness from MainPID and its /proc cmdline. */
export function sshSystemdControl(
  conn: SshConnection,
  server: AgentServerConfig,
  timeoutMs: number,
): ServiceControl {
  const unit = server.service.kind === "systemd" ? server.service.unit : "mariadb";
  const opts = (signal?: AbortSignal) => ({ timeoutMs, ...(signal ? { signal } : {}) });
  return {
    async start(signal) {
      await conn.run(systemctl("start", unit), opts(signal));
    },
    async stop(signal) {
      await conn.run(systemctl("stop", unit), opts(signal));
    },
    async status() {
      const out = await conn.run(systemctlMainPid(unit), { timeoutMs: 5_000 }).catch(() => "0");
      const pid = Number(out.trim());
      if (!Number.isInteger(pid) || pid <= 1) return { running: false, pid: null };
      const cmd = await conn
        .run(readProcFile(pid, "cmdline"), { timeoutMs: 5_000 })
        .catch(() => "");
      const argv0 = cmd.split("\0")[0] ?? "";
      return /(^|\/)(mariadbd|mysqld)$/.test(argv0)
        ? { running: true, pid }
        : { running: false, pid: null };
    },
  };
}
