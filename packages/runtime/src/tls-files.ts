// TLS settings name files (a CA, a certificate, a key); the services read them once, at
// start, so a missing or unreadable file is a bad config (VALIDATION_FAILED naming the
// setting and the path) rather than a failure at the first connection during a failover.
import { readFileSync } from "node:fs";
import { MarinaError } from "@marina/contracts";

export interface TlsFiles {
  readonly ca: string;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/** The PEM texts of `files`; `where` is the setting's path in the config (`nats.tls`). */
export function readTlsFiles(files: TlsFiles, where: string): TlsFiles {
  const read = (key: keyof TlsFiles, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new MarinaError(
        "VALIDATION_FAILED",
        `${where}.${key}: cannot read ${path}: ${(err as Error).message}`,
        { path: `${where}.${key}`, cause: err },
      );
    }
  };
  const ca = read("ca", files.ca) as string;
  const cert = read("cert", files.cert);
  const key = read("key", files.key);
  return { ca, ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
}
