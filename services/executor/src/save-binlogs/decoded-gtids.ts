import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { type GtidSummary, summarizeGtids } from "./gtid-summary.js";

/** The GTIDs of the transactions in a decoded file (its `GTID d-s-n` event lines), streamed. */
export async function gtidsOfDecodedFile(path: string): Promise<GtidSummary> {
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  const seen: string[] = [];
  for await (const line of lines) {
    const g = gtidOfEventLine(line);
    if (g !== null) seen.push(g);
  }
  return summarizeGtids(seen);
}

const EVENT_GTID =
  /^#[0-9]{6}\s+[0-9]{1,2}:[0-9]{2}:[0-9]{2}\s+server id [0-9]+\s+end_log_pos [0-9]+(?:\s+CRC32 0x[0-9a-f]+)?\s+GTID ([0-9]+-[0-9]+-[0-9]+)(?:\s|$)/;

/** `#261205 10:37:26 server id 1  end_log_pos 686 CRC32 0x… \tGTID 0-1-4 trans` → `0-1-4`. */
export function gtidOfEventLine(line: string): string | null {
  const m = EVENT_GTID.exec(line);
  return m ? (m[1] as string) : null;
}
