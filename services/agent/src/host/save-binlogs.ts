import { constants } from "node:fs";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Binlogs } from "./local-sql.js";

/**
 * Copies a server's binlog files into a new folder `<saveDir>/<server>-<time>-<opId>/`
 * before a rebuild resets them: a diverged server's extra events stay available (to read
 * with mariadb-binlog). Never overwrites; returns the folder.
 */
export async function saveBinlogs(
  saveDir: string,
  server: string,
  opId: string,
  at: Date,
  binlogs: Binlogs,
): Promise<string> {
  const stamp = at.toISOString().replace(/[:.]/g, "-");
  const dir = join(saveDir, `${server}-${stamp}-${opId}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const f of binlogs.files) {
    await copyFile(join(binlogs.dir, f), join(dir, f), constants.COPYFILE_EXCL);
  }
  return dir;
}
