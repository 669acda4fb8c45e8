// Which images the containers backend runs: the official ones by default.
import { LabError, LabErrorCode } from "../errors.js";

/** The official images, what users with Docker have; overridden by the variables below. */
export const DEFAULT_MARIADB_IMAGE = "mariadb:10.11";
export const DEFAULT_NATS_IMAGE = "nats:2.9";
export const MARIADB_IMAGE_ENV = "MARINA_MARIADB_IMAGE";
export const NATS_IMAGE_ENV = "MARINA_NATS_IMAGE";

export interface LabImages {
  readonly mariadb: string;
  readonly nats: string;
}

// An image reference: [registry[:port]/]path[:tag][@digest], nothing a shell could read.
const IMAGE_RE = /^[a-z0-9][a-z0-9._\-/:@]*$/i;

export function labImages(env: NodeJS.ProcessEnv = process.env): LabImages {
  const pick = (name: string, fallback: string) => {
    const v = (env[name] ?? "").trim() || fallback;
    if (v.length > 255 || !IMAGE_RE.test(v)) {
      throw new LabError(
        LabErrorCode.BadOptions,
        `${name}=${JSON.stringify(v)} is not an image name`,
      );
    }
    return v;
  };
  return {
    mariadb: pick(MARIADB_IMAGE_ENV, DEFAULT_MARIADB_IMAGE),
    nats: pick(NATS_IMAGE_ENV, DEFAULT_NATS_IMAGE),
  };
}
