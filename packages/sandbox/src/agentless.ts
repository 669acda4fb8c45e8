import { chmod, mkdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { type MariaNode, startSshd, type TestSshd } from "@marina/lab";

/** The lab's sshd (kept under the name the tests use). */
export const startTestSshd = startSshd;
export type { TestSshd };

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
