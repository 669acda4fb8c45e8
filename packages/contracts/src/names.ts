import { z } from "zod";
import { isGtidList } from "./gtid.js";

// Names become NATS subject tokens and appear in SQL/identifiers elsewhere, so they are
// limited to a safe alphabet: no dots, wildcards, spaces, quotes or path separators.
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const nameText =
  "must be 1-63 characters of letters, digits, '-' or '_', starting with a letter or digit";

export const ClusterName = z.string().regex(SAFE_NAME, `cluster name ${nameText}`);
export const ServerName = z.string().regex(SAFE_NAME, `server name ${nameText}`);
export const HostName = z.string().regex(SAFE_NAME, `host id ${nameText}`);
export const OpId = z.string().regex(SAFE_NAME, `operation id ${nameText}`);
/** A replication connection name ("" is the default connection). */
export const ConnectionName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{0,64}$/, "connection name must be letters, digits, '-' or '_'");
/**
 * A database (schema) name Marina puts into SQL and argument lists: letters, digits, `_`,
 * `$` and `-` (not first) only: never needs quoting beyond backticks, never read as an option.
 */
export const DatabaseName = z
  .string()
  .regex(
    /^[A-Za-z0-9_$][A-Za-z0-9_$-]{0,63}$/,
    "database name must be 1-64 letters, digits, '_', '$' or '-', not starting with '-'",
  );
/** A network address: hostname or IP literal. */
export const Address = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9.:_-]+$/, "address must be a hostname or IP address");
export const Port = z.number().int().min(1).max(65535);
export const GtidListText = z
  .string()
  .max(65536)
  .regex(
    /^\s*([0-9]+-[0-9]+-[0-9]+(\s*,\s*[0-9]+-[0-9]+-[0-9]+)*)?\s*$/,
    "must be a GTID list like 0-1-10,1-2-5",
  )
  .refine(isGtidList, "must be a GTID list like 0-1-10,1-2-5");
export const Epoch = z.number().int().min(0);
export const Iso = z.iso.datetime({ offset: true });

export type ClusterName = z.infer<typeof ClusterName>;
export type ServerName = z.infer<typeof ServerName>;

/** A backup's id: its directory under `<backupDir>/<server>/` (a UTC time, maybe `-N`). */
export const BackupId = z
  .string()
  .regex(/^[0-9]{8}T[0-9]{6}Z(-[0-9]{1,3})?$/, "backup id must look like 20261205T154210Z");
/** How many complete backups a prune keeps, newest first (at least one: never the newest). */
export const BackupKeep = z.number().int().min(1).max(10_000);
/** A prune deletes only backups older than this many days (fractions allowed). */
export const BackupOlderThanDays = z.number().positive().max(36_500);
