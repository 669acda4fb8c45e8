// Test fixtures for the agentless (SSH) mode around a lab: a throwaway sshd on a loopback
// port, and a stand-in for `systemctl stop|start` on a host without systemd. The lab owns
// its mariadbd processes (it started them and tears them down), so the service commands
// run over SSH are a small script that asks the test process, over a unix socket, to stop
// or start the lab's node. Everything else (realpath, ls, find -delete, socat, mbstream,
// mariadb-backup, chown, cat, du) really runs through the SSH sessions.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { freePort, type MariaNode, waitFor } from "@marina/lab";

export interface TestSshd {
  readonly port: number;
  /** Path of the client's private key (authorised for root). */
  readonly clientKeyPath: string;
  /** `ssh-keygen -lf` fingerprint of the host key ("SHA256:..."). */
  readonly hostKeyFingerprint: string;
  stop(): Promise<void>;
}

function keygen(file: string): void {
  execFileSync("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file], {
    stdio: "ignore",
  });
}

/**
 * An sshd on 127.0.0.1 whose files live in `dir` (inside the lab tree, a path with
 * `marina-lab-`, so the leftover check covers it); setpriv --pdeathsig kills it if the
 * test process dies.
 */
export async function startTestSshd(dir: string): Promise<TestSshd> {
  await mkdir(dir, { recursive: true });
  await mkdir("/run/sshd", { recursive: true });
  const hostKey = join(dir, "host_ed25519");
  const clientKeyPath = join(dir, "client_ed25519");
  keygen(hostKey);
  keygen(clientKeyPath);
  await writeFile(join(dir, "authorized_keys"), await readFile(`${clientKeyPath}.pub`));
  const port = await freePort();
  const config = join(dir, "sshd_config");
  await writeFile(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  const fp = execFileSync("/usr/bin/ssh-keygen", ["-lf", `${hostKey}.pub`], { encoding: "utf8" });
  const hostKeyFingerprint = fp.split(" ")[1] ?? "";
  const child: ChildProcess = spawn(
    "/usr/bin/setpriv",
    ["--pdeathsig", "KILL", "--", "/usr/sbin/sshd", "-D", "-e", "-f", config],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    await waitFor(
      () =>
        new Promise<boolean>((resolve, reject) => {
          if (child.exitCode !== null) {
            reject(new Error(`sshd exited: ${stderr}`));
            return;
          }
          const s = connect(port, "127.0.0.1");
          s.once("connect", () => {
            s.destroy();
            resolve(true);
          });
          s.once("error", () => resolve(false));
        }),
      { timeoutMs: 10_000, message: "sshd listening" },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, clientKeyPath, hostKeyFingerprint, stop };
}

export interface LabServiceBridge {
  /** Service commands for `node`, as `servers[].ssh.service` takes them. */
  commandsFor(node: MariaNode): { stop: string[]; start: string[] };
  /** What the script asked for, in order ("stop db3", "start db3"). */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * `<dir>/mariadb-service.sh stop|start <node>`: run over SSH in place of systemctl, it asks
 * this process (unix socket) to stop or start the lab node and exits non-zero on failure.
 */
export async function startLabServiceBridge(
  dir: string,
  nodes: readonly MariaNode[],
): Promise<LabServiceBridge> {
  await mkdir(dir, { recursive: true });
  const sock = join(dir, "service.sock");
  const script = join(dir, "mariadb-service.sh");
  const requests: string[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString();
      if (!buf.includes("\n")) return;
      const [verb, name] = buf.trim().split(/\s+/);
      requests.push(`${verb} ${name}`);
      const node = nodes.find((n) => n.name === name);
      const act = !node
        ? Promise.reject(new Error(`no node ${name}`))
        : verb === "stop"
          ? node.stop().then(() => {})
          : verb === "start"
            ? node.start()
            : Promise.reject(new Error(`unknown verb ${verb}`));
      act.then(
        () => s.end("ok\n"),
        (err: unknown) => s.end(`error: ${(err as Error).message}\n`),
      );
    });
    s.on("error", () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(sock, () => resolve());
  });
  await writeFile(
    script,
    [
      "#!/bin/bash",
      "# Test stand-in for systemctl stop|start: the lab that owns mariadbd does it.",
      "set -euo pipefail",
      `reply=$(printf '%s %s\\n' "$1" "$2" | /usr/bin/socat -t 300 - UNIX-CONNECT:${sock})`,
      'if [ "$reply" != "ok" ]; then echo "$reply" >&2; exit 1; fi',
      "",
    ].join("\n"),
  );
  await chmod(script, 0o755);
  return {
    commandsFor: (node) => ({
      stop: [script, "stop", node.name],
      start: [script, "start", node.name],
    }),
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
