import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { type GtidList, parseGtidList } from "@marina/contracts";
import { DecodedParser, type DecodedTransaction } from "./decoded-events.js";

/** The transactions of a decoded file, streamed line by line. */
export async function readDecodedFile(path: string): Promise<DecodedTransaction[]> {
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  const p = new DecodedParser();
  for await (const line of lines) p.line(line);
  return p.finish();
}

/**
 * The first `Gtid list [...]` of a decoded file (its first binlog file's initial binlog
 * state; mariadb-binlog prints one pair per line after the first: `,\n# 0-3-1`), or null.
 */
export function firstGtidList(lines: Iterable<string>): GtidList | null {
  let text: string | null = null;
  for (const line of lines) {
    if (text === null) {
      const at = line.indexOf("\tGtid list [");
      if (at < 0) continue;
      text = line.slice(at + "\tGtid list [".length);
    } else {
      text += line.replace(/^#\s*/, "");
    }
    const end = text.indexOf("]");
    if (end >= 0) return parseGtidList(text.slice(0, end).replace(/\s+/g, ""));
  }
  return null;
}

/** firstGtidList of a decoded file on disk (read until it is found). */
export async function readFirstGtidList(path: string): Promise<GtidList | null> {
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  const seen: string[] = [];
  for await (const line of lines) {
    seen.push(line);
    const found = firstGtidList(seen.slice(-64));
    if (found !== null) {
      lines.close();
      return found;
    }
  }
  return null;
}
