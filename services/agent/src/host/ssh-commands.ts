import {
  backupStream,
  chownDatadir,
  diskUsage,
  emptyDirectory,
  extractStream,
  type Invocation,
  listDirectory,
  prepareBackup,
  readBackupInfo,
  readMarkerFile,
  removeMarkerFile,
  resolvePath,
  systemctl,
  systemctlMainPid,
  writeMarkerFile,
} from "@marina/hostops";
import type { AgentServerConfig, AgentSshConfig } from "../config.js";

/**
 * Every fixed command the SSH backend and the rebuild operations run on the host of a
 * server served over SSH, with the arguments they use for it: what deploy/sudoers.marina
 * must allow (the privileged ones) — checked by test/sudoers.test.ts. Left out: commands
 * whose arguments vary per call (`cat /proc/<pid>/…`, saveDir's `mkdir`/`cp`, the
 * streams' socat, compressors and logical clients, which run as the ssh user).
 */
export function sshHostCommands(
  server: Pick<
    AgentServerConfig,
    "datadir" | "defaultsFile" | "socket" | "osUser" | "osGroup" | "service"
  >,
  ssh: Pick<AgentSshConfig, "tmpDir">,
  backupUser: string,
): Invocation[] {
  const unit = server.service.kind === "systemd" ? server.service.unit : "mariadb";
  const { datadir } = server;
  return [
    systemctl("stop", unit),
    systemctl("start", unit),
    systemctlMainPid(unit),
    resolvePath(datadir),
    listDirectory(datadir),
    emptyDirectory(datadir),
    extractStream(datadir),
    prepareBackup(datadir, server.defaultsFile),
    chownDatadir(datadir, server.osUser, server.osGroup),
    readBackupInfo(datadir, "xtrabackup_binlog_info"),
    readBackupInfo(datadir, "xtrabackup_slave_info"),
    diskUsage(datadir),
    writeMarkerFile(datadir),
    readMarkerFile(datadir),
    removeMarkerFile(datadir),
    // The SSH backend's scratch dir is the configured one (scratchDir() in ssh-backend.ts).
    backupStream({
      defaultsFile: server.defaultsFile,
      socket: server.socket,
      user: backupUser,
      tmpDir: ssh.tmpDir,
    }),
  ];
}
