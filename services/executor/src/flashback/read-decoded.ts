import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { DecodedParser, type DecodedTransaction } from "./decoded-events.js";

/** The transactions of a decoded file, streamed line by line. */
export async function readDecodedFile(path: string): Promise<DecodedTransaction[]> {
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  const p = new DecodedParser();
  for await (const line of lines) p.line(line);
  return p.finish();
}
