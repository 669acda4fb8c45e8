// A throwaway sshd on a loopback port, for the tests of agents serving servers over SSH:
// its files live in `dir` (inside a lab tree, a path with `marina-lab-`, so the leftover
// check covers it); setpriv --pdeathsig kills it if the owner dies. LAB.md: /run/sshd must
// exist, UsePAM no, StrictModes no for keys under /tmp, binaries by full path.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { waitFor } from "./wait.js";

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
export async function startSshd(dir: string): Promise<TestSshd> {
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
