import { join } from "node:path";
import { MarinaError } from "@marina/contracts";
import {
  checkDatadirPath,
  chownDatadir,
  copyFileInto,
  diskUsage,
  emptyDirectory,
  judgeDatadirListing,
  listDirectory,
  makePrivateDir,
  parseLsListing,
  readBackupInfo,
  readMarkerFile,
  removeMarkerFile,
  resolvePath,
  type ToolPaths,
  writeMarkerFile,
} from "@marina/hostops";
import type { AgentConfig, AgentServerConfig, AgentSshConfig } from "../config.js";
import type { HostBackend } from "./backend.js";
import { parseRebuildMarker } from "./datadir.js";
import type { LocalAccount } from "./local-sql.js";
import type { ServiceControl } from "./service-control.js";
import { execFailure, SshConnection } from "./ssh-connection.js";
import { sshSystemdControl } from "./ssh-service.js";
import { startSshStream } from "./ssh-stream.js";

export interface SshBackendDeps {
  readonly cfg: AgentConfig;
  readonly paths: ToolPaths;
  readonly server: AgentServerConfig & { readonly ssh: AgentSshConfig };
  /** The private key text (resolved from the file or the secret; never logged). */
  readonly privateKey: string;
  readonly backupPassword: string | undefined;
  /** Injected stop/start (tests); default: systemctl over SSH. */
  readonly control?: ServiceControl;
}

function refuse(datadir: string, why: string): never {
  throw new MarinaError("REFUSED", `datadir ${datadir}: ${why}`, { path: "datadir" });
}

/** A server on a host the agent reaches over SSH. */
export function sshBackend(d: SshBackendDeps): HostBackend {
  const { cfg, paths, server } = d;
  const ssh = server.ssh;
  const conn = new SshConnection(
    {
      host: ssh.host,
      port: ssh.port,
      username: ssh.user,
      privateKey: d.privateKey,
      hostKeyFingerprint: ssh.hostKeySha256,
    },
    { paths, sudo: ssh.sudo },
  );
  const cmdMs = cfg.timeouts.serviceMs;
  const run = (inv: Parameters<SshConnection["run"]>[0], timeoutMs = cmdMs) =>
    conn.run(inv, { timeoutMs });
  const advertiseAddress = ssh.advertiseAddress ?? ssh.host;

  const guardDatadir: HostBackend["guardDatadir"] = async (datadir) => {
    try {
      checkDatadirPath(datadir, "datadir");
    } catch (err) {
      refuse(datadir, (err as Error).message.replace(/^datadir: /, ""));
    }
    const real = (
      await run(resolvePath(datadir)).catch((err: unknown) => {
        // realpath failing says the path is missing; an SSH failure (a wrong host key,
        // no route) is reported as itself.
        if (err instanceof MarinaError && err.code === "TOOL_FAILED")
          refuse(datadir, "does not exist");
        throw err;
      })
    ).trim();
    if (real !== datadir) refuse(datadir, `resolves to ${real}; configure the real path`);
    const entries = parseLsListing(await run(listDirectory(datadir)));
    const verdict = judgeDatadirListing(entries);
    if (!verdict.ok) refuse(datadir, verdict.reason);
    return entries;
  };

  const account: LocalAccount = {
    socket: server.socket,
    user: cfg.backup.user,
    password: d.backupPassword,
    timeoutMs: cfg.timeouts.sqlMs,
    connect: () => conn.openUnixSocket(server.socket),
  };

  return {
    kind: "ssh",
    listenAddress: ssh.listenAddress ?? advertiseAddress,
    advertiseAddress,
    tls: ssh.tls,
    holdsSourcesBack: false,
    control: d.control ?? sshSystemdControl(conn, server, cmdMs),
    account,
    run: (inv, o) =>
      conn.run(inv, { timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) }),
    startStream: (stages, gate) => startSshStream(conn, stages, gate),
    // The remote listen attempt decides ("Address already in use" tries the next port).
    portFree: async () => true,
    // The files are on the remote host: socat reports them when it cannot read them.
    checkReadable: async () => {},
    guardDatadir,
    async clearDatadir(datadir) {
      const entries = await guardDatadir(datadir);
      // find never follows a symlink and -xdev keeps it on the datadir's filesystem.
      await run(emptyDirectory(datadir));
      return { removed: entries.length, deleted: Promise.resolve() };
    },
    async readRebuildMarker(datadir) {
      const r = await conn.exec(conn.commandLine(readMarkerFile(datadir)), { timeoutMs: cmdMs });
      if (r.code !== 0) {
        if (/No such file/i.test(r.stderr)) return undefined;
        throw execFailure("read the rebuild marker", r);
      }
      return parseRebuildMarker(r.stdout);
    },
    async writeRebuildMarker(datadir, m) {
      const r = await conn.exec(conn.commandLine(writeMarkerFile(datadir)), {
        timeoutMs: cmdMs,
        stdin: `${JSON.stringify(m)}\n`,
        closeStdin: true,
      });
      if (r.code !== 0) throw execFailure("write the rebuild marker", r);
    },
    async removeRebuildMarker(datadir) {
      await run(removeMarkerFile(datadir));
    },
    async readBackupInfo(datadir, file) {
      const r = await conn.exec(conn.commandLine(readBackupInfo(datadir, file)), {
        timeoutMs: cmdMs,
      });
      return r.code === 0 ? r.stdout : null;
    },
    async chownTree(datadir, user, group) {
      await run(chownDatadir(datadir, user, group));
    },
    async treeSize(dir) {
      const out = await run(diskUsage(dir));
      const n = Number(out.trim().split(/\s+/)[0]);
      if (!Number.isFinite(n)) throw new MarinaError("TOOL_FAILED", `du: unexpected output`);
      return n;
    },
    async saveBinlogs(saveDir, name, opId, at, binlogs) {
      const stamp = at.toISOString().replace(/[:.]/g, "-");
      const dir = join(saveDir, `${name}-${stamp}-${opId}`);
      await run(makePrivateDir(dir));
      for (const f of binlogs.files) await run(copyFileInto(binlogs.dir, f, dir));
      return dir;
    },
    // mariadb-backup creates its --target-dir; one fixed path keeps the sudoers line exact.
    scratchDir: () => ssh.tmpDir,
    makeScratch: async () => {},
    removeScratch: async () => {},
    close: () => conn.close(),
  };
}
