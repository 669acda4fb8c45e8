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
 * Fed a decoded file's lines one by one, answers the first `Gtid list [...]` (its first binlog
 * file's initial binlog state; mariadb-binlog prints one pair per line after the first:
 * `,\n# 0-3-1`) once its closing bracket is seen, undefined until then.
 */
function gtidListReader(): (line: string) => GtidList | undefined {
  let text: string | null = null;
  return (line) => {
    if (text === null) {
      const at = line.indexOf("\tGtid list [");
      if (at < 0) return undefined;
      text = line.slice(at + "\tGtid list [".length);
    } else {
      text += line.replace(/^#\s*/, "");
    }
    const end = text.indexOf("]");
    return end >= 0 ? parseGtidList(text.slice(0, end).replace(/\s+/g, "")) : undefined;
  };
}

/** The first `Gtid list [...]` among decoded lines, or null. */
export function firstGtidList(lines: Iterable<string>): GtidList | null {
  const feed = gtidListReader();
  for (const line of lines) {
    const found = feed(line);
    if (found) return found;
  }
  return null;
}

/** firstGtidList of a decoded file on disk, read only until it is found. */
export async function readFirstGtidList(path: string): Promise<GtidList | null> {
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  const feed = gtidListReader();
  for await (const line of lines) {
    const found = feed(line);
    if (found) {
      lines.close();
      return found;
    }
  }
  return null;
}
