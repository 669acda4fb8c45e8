// The fixed allow-list: the only programs Marina ever runs on a database host. Each is
// called by absolute path (an SSH session's PATH lacks /usr/sbin, and a PATH lookup would
// let the environment choose the binary).

export const ProgramIds = [
  "mariadb-backup",
  "mbstream",
  "mariadb-dump",
  "mariadb",
  "socat",
  "pigz",
  "zstd",
  "systemctl",
  "find",
  "chown",
  "cat",
  "ls",
  "du",
  "realpath",
  "tee",
  "mkdir",
  "cp",
  "sudo",
  "bash",
] as const;
export type ProgramId = (typeof ProgramIds)[number];

export type ToolPaths = Readonly<Record<ProgramId, string>>;

/** Debian 12 locations (usrmerge: /bin and /usr/bin are the same directory). */
export const DEFAULT_TOOL_PATHS: ToolPaths = {
  "mariadb-backup": "/usr/bin/mariadb-backup",
  mbstream: "/usr/bin/mbstream",
  "mariadb-dump": "/usr/bin/mariadb-dump",
  mariadb: "/usr/bin/mariadb",
  socat: "/usr/bin/socat",
  pigz: "/usr/bin/pigz",
  zstd: "/usr/bin/zstd",
  systemctl: "/usr/bin/systemctl",
  find: "/usr/bin/find",
  chown: "/usr/bin/chown",
  cat: "/usr/bin/cat",
  ls: "/usr/bin/ls",
  du: "/usr/bin/du",
  realpath: "/usr/bin/realpath",
  tee: "/usr/bin/tee",
  mkdir: "/usr/bin/mkdir",
  cp: "/usr/bin/cp",
  sudo: "/usr/bin/sudo",
  bash: "/bin/bash",
};

/** One program run with an argument array. `args` never pass through a shell locally. */
export interface Invocation {
  readonly program: ProgramId;
  readonly args: readonly string[];
  /** Needs root (over SSH: run under `sudo -n`). */
  readonly privileged: boolean;
}

/** The program's path and argv, ready for `spawn(file, args)` (never `shell: true`). */
export function resolveInvocation(inv: Invocation, paths: ToolPaths): [string, string[]] {
  return [paths[inv.program], [...inv.args]];
}

/** Arguments that make each program print its version (for the agent's heartbeat). */
export const VERSION_ARGS: Partial<Record<ProgramId, readonly string[]>> = {
  "mariadb-backup": ["--version"],
  mbstream: ["--help"],
  "mariadb-dump": ["--version"],
  mariadb: ["--version"],
  socat: ["-V"],
  pigz: ["--version"],
  zstd: ["--version"],
};
