import { execFile } from "node:child_process";
import { type ProgramId, type ToolPaths, VERSION_ARGS } from "@marina/hostops";

/** Programs whose versions the heartbeat reports. */
export const REPORTED_TOOLS = ["mariadb-backup", "mbstream", "socat", "pigz", "zstd"] as const;

function versionLine(output: string): string | null {
  const line = output
    .split("\n")
    .map((l) => l.trim())
    .find((l) => /\d+\.\d+/.test(l));
  return line ? line.slice(0, 256) : null;
}

function probe(path: string, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(path, [...args], { timeout: 5_000, shell: false }, (err, stdout, stderr) => {
      const text = `${stdout}\n${stderr}`;
      // Some tools exit non-zero for --help; a version line is still a version.
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") resolve(null);
      else resolve(versionLine(text));
    });
  });
}

/** Version line of each reported tool, null when the program is missing. */
export async function probeToolVersions(paths: ToolPaths): Promise<Record<string, string | null>> {
  const entries = await Promise.all(
    REPORTED_TOOLS.map(
      async (id: ProgramId) => [id, await probe(paths[id], VERSION_ARGS[id] ?? [])] as const,
    ),
  );
  return Object.fromEntries(entries);
}
