// Runs `ip` / `iptables` for a lab network: argument arrays only, never a shell string.
import { execFile, spawnSync } from "node:child_process";
import { resolveBinary } from "./binaries.js";
import { LabError, LabErrorCode } from "./errors.js";
import { netnsExec } from "./netns-names.js";
import { type DropRule, restoreScript, ruleSpec, rulesByNamespace } from "./partition.js";

const TIMEOUT_MS = 10_000;

/** The absolute path of `ip` (Debian: /usr/sbin, not on every PATH). */
export function ipBinary(): string {
  return resolveBinary("ip");
}

/** Runs argv (argv[0] resolved like a lab binary), feeding `input` on stdin; its stdout. */
export function runCommand(argv: readonly string[], input?: string): Promise<string> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new LabError(LabErrorCode.BadOptions, "runCommand: empty argv");
  const file = cmd.includes("/") ? cmd : resolveBinary(cmd);
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: TIMEOUT_MS, killSignal: "SIGKILL", encoding: "utf8" },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        reject(
          new LabError(
            LabErrorCode.NetworkFailed,
            `${argv.join(" ")} failed: ${String(stderr).trim() || err.message}`,
            { cause: err },
          ),
        );
      },
    );
    child.stdin?.on("error", () => {}); // a command that exits early must not crash us (EPIPE)
    child.stdin?.end(input ?? "");
  });
}

/** `ip <args>` */
export function ip(...args: string[]): Promise<string> {
  return runCommand([ipBinary(), ...args]);
}

/** Best effort, synchronous (exit hooks): true if the command succeeded. */
export function runCommandSync(argv: readonly string[]): boolean {
  const [cmd, ...args] = argv;
  if (!cmd) return false;
  try {
    const file = cmd.includes("/") ? cmd : resolveBinary(cmd);
    return spawnSync(file, args, { stdio: "ignore", timeout: TIMEOUT_MS }).status === 0;
  } catch {
    return false;
  }
}

/** `ip [-n ns] -batch -` with `lines`: several changes for one process spawn. */
export function batch(ns: string | undefined, lines: readonly string[]): Promise<string> {
  const args = ns === undefined ? ["-batch", "-"] : ["-n", ns, "-batch", "-"];
  return runCommand([ipBinary(), ...args], `${lines.join("\n")}\n`);
}

/** One iptables-restore per namespace: a partition takes effect in one step per namespace. */
export async function applyRules(rules: readonly DropRule[], op: "-A" | "-D", comment: string) {
  await Promise.all(
    [...rulesByNamespace(rules)].map(([ns, list]) =>
      runCommand(
        netnsExec(ns, ["iptables-restore", "-w", "--noflush"], ipBinary()),
        restoreScript(list, op, comment),
      ),
    ),
  );
}

/** Deletes rules one by one, ignoring those already gone. */
export async function deleteEach(rules: readonly DropRule[], comment: string): Promise<void> {
  for (const r of rules) {
    await runCommand(
      netnsExec(r.ns, ["iptables", "-w", "-D", ...ruleSpec(r, comment)], ipBinary()),
    ).catch(() => {});
  }
}
