import { readFileSync } from "node:fs";

/** The last lines of a log file, for error messages; "" if it cannot be read. */
export function tailFile(path: string, lines = 20): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}
