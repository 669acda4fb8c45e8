import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BinlogSaveOutcome,
  MarinaError,
  type SaveBinlogsSettings,
  type UndoVerdict,
} from "@marina/contracts";
import { columnCounts } from "../flashback/columns.js";
import { readDecodedFile, readFirstGtidList } from "../flashback/read-decoded.js";
import { purgedExtras, selectionOf } from "../flashback/selection.js";
import { undoVerdict } from "../flashback/verdict.js";
import { int, text } from "../rows.js";
import { gtidsOfDecodedFile } from "../save-binlogs/decoded-gtids.js";
import {
  type BinlogFile,
  chooseFiles,
  decodeArgv,
  decodeStart,
  dumpArgv,
  isBinlogName,
  optionFileText,
  saveFolderName,
} from "../save-binlogs/plan.js";
import { runTool } from "../save-binlogs/run-tool.js";
import { type StepContext, StepError, type StepOf, type StepRunner } from "./context.js";

const DECODED = "extra-transactions.sql";

/** The server's binlog files, each with the GTID position at its start. */
export async function readBinlogFiles(ctx: StepContext): Promise<BinlogFile[]> {
  const rows = await ctx.db.rows("SHOW BINARY LOGS");
  const out: BinlogFile[] = [];
  for (const r of rows) {
    const name = text(r, "Log_name");
    if (!isBinlogName(name)) throw new StepError("SQL_ERROR", `odd binlog file name "${name}"`);
    const [pos] = await ctx.db.rows("SELECT BINLOG_GTID_POS(?, 4) AS pos", [name]);
    out.push({ name, bytes: int(r, "File_size"), start: pos ? text(pos, "pos") : "" });
  }
  return out;
}

/** The save's settings; refused when this executor's config has none, or the id is taken. */
export async function settingsFor(ctx: StepContext): Promise<SaveBinlogsSettings> {
  const cfg = ctx.cluster.saveBinlogs;
  if (!cfg) {
    throw new StepError(
      "NOT_APPLICABLE",
      `clusters[${ctx.cluster.name}].saveBinlogs is not set in this executor's config`,
    );
  }
  const [id] = await ctx.db.rows("SELECT @@server_id AS id");
  if (id && int(id, "id") === cfg.dumpServerId) {
    throw new StepError(
      "NOT_APPLICABLE",
      `${ctx.server.name} has server_id ${cfg.dumpServerId}, reserved for the dump (saveBinlogs.dumpServerId)`,
    );
  }
  return cfg;
}

/** A new folder for this save; an existing one is an error, never reused. */
export async function newFolder(ctx: StepContext, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const at = new Date(ctx.clock.now());
  const folder = join(dir, saveFolderName(ctx.cluster.name, ctx.server.name, at, ctx.opId));
  try {
    // Not recursive: an existing folder fails (EEXIST).
    await mkdir(folder, { mode: 0o700 });
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === "EEXIST";
    throw new StepError(
      exists ? "REFUSED" : "TOOL_FAILED",
      exists
        ? `${folder} exists: an earlier save is never overwritten`
        : `cannot make ${folder}: ${(err as Error).message}`,
      { path: folder },
    );
  }
  return folder;
}

/**
 * Runs `use` with an option file (mode 0600, in a temp dir removed afterwards) holding the
 * executor's account and the server's address: credentials never go on a command line.
 */
export async function withOptionFile<T>(
  ctx: StepContext,
  use: (optionFile: string) => Promise<T>,
): Promise<T> {
  const secrets = await mkdtemp(join(tmpdir(), "marina-binlog-"));
  try {
    const optionFile = join(secrets, "client.cnf");
    const { admin, tlsFiles } = ctx.cluster;
    const { host, port } = ctx.server;
    await writeFile(
      optionFile,
      optionFileText({ user: admin.user, password: admin.password, host, port, tls: tlsFiles }),
      { mode: 0o600, flag: "wx" },
    );
    return await use(optionFile);
  } finally {
    await rm(secrets, { recursive: true, force: true });
  }
}

/** The raw dump, with the credentials in an option file only mariadb-binlog reads. */
export async function dumpRaw(
  ctx: StepContext,
  cfg: SaveBinlogsSettings,
  folder: string,
  first: string,
): Promise<void> {
  await withOptionFile(ctx, async (optionFile) => {
    const argv = dumpArgv({ optionFile, folder, first, dumpServerId: cfg.dumpServerId });
    const dump = await runTool(cfg.program, argv, cfg.timeoutMs);
    if (dump.code !== 0) {
      throw new StepError(
        dump.timedOut ? "TIMEOUT" : "TOOL_FAILED",
        `mariadb-binlog dump of ${ctx.server.name} from ${first} failed (${dump.timedOut ? "timed out" : `exit ${dump.code}`}): ${dump.stderr}`,
        { path: folder },
      );
    }
  });
}

/** The files the dump wrote (those rotated in meanwhile too: --to-last-log), in order. */
export async function savedFiles(folder: string): Promise<BinlogSaveOutcome["files"]> {
  const names = (await readdir(folder)).filter((n) => n !== DECODED && isBinlogName(n)).sort();
  const out: BinlogSaveOutcome["files"] = [];
  for (const name of names) out.push({ name, bytes: (await stat(join(folder, name))).size });
  return out;
}

/** Decodes from `start`; from the whole files when that fails. */
async function decode(
  ctx: StepContext,
  cfg: SaveBinlogsSettings,
  o: { folder: string; files: readonly string[]; start: string; timeoutMs: number },
): Promise<BinlogSaveOutcome["decodedFrom"]> {
  const out = join(o.folder, DECODED);
  const files = o.files.map((f) => join(o.folder, f));
  if (o.start !== "") {
    const r = await runTool(cfg.program, decodeArgv({ files, start: o.start, out }), o.timeoutMs);
    if (r.code === 0) return "fork";
    ctx.log.warn(
      { err: r.stderr },
      "decoding from the fork point failed; decoding the whole files",
    );
  }
  const r = await runTool(cfg.program, decodeArgv({ files, start: "", out }), o.timeoutMs);
  if (r.code !== 0) {
    throw new StepError(
      "TOOL_FAILED",
      `mariadb-binlog could not decode the saved files: ${r.stderr}`,
      { path: o.folder },
    );
  }
  return "files";
}

/** Whether the saved extra transactions could be flashed back; null when it cannot be told. */
async function judgeSaved(
  ctx: StepContext,
  decodedPath: string,
  step: StepOf<"save-binlogs">,
  complete: boolean,
): Promise<UndoVerdict | null> {
  try {
    const sel = selectionOf(step.extraGtids, step.forkPoint);
    const decoded = await readDecodedFile(decodedPath);
    const columns = await columnCounts(ctx.db, decoded);
    const whole = complete && purgedExtras(sel, await readFirstGtidList(decodedPath)).length === 0;
    return undoVerdict(decoded, sel, columns, whole);
  } catch (err) {
    // The save is what matters here; the flashback judges again before it acts.
    ctx.log.warn({ err: (err as Error).message }, "could not judge the saved transactions");
    return null;
  }
}

/**
 * Saves a diverged server's extra transactions: whole binlog files from the first one holding
 * the fork point, dumped raw over the replication protocol into a new folder, then decoded
 * there into SQL text from the fork point (whole files when that fails).
 */
export const saveBinlogs: StepRunner<"save-binlogs"> = async (ctx, step) => {
  const cfg = await settingsFor(ctx);
  const all = await readBinlogFiles(ctx);
  const choice = chooseFiles(all, step.forkPoint);
  const first = choice.files[0];
  if (!first) throw new StepError("NOT_APPLICABLE", `${ctx.server.name} has no binlog files`);
  const folder = await newFolder(ctx, cfg.dir);
  try {
    const started = ctx.clock.now();
    await dumpRaw(ctx, cfg, folder, first.name);
    const files = await savedFiles(folder);
    const start = decodeStart(first.start, step.forkPoint);
    const decodedFrom = await decode(ctx, cfg, {
      folder,
      files: files.map((f) => f.name),
      start,
      timeoutMs: Math.max(1000, cfg.timeoutMs - (ctx.clock.now() - started)),
    });
    const decodedPath = join(folder, DECODED);
    const undo = await judgeSaved(ctx, decodedPath, step, choice.complete);
    const outcome: BinlogSaveOutcome = {
      path: folder,
      files,
      decoded: { name: DECODED, bytes: (await stat(decodedPath)).size },
      decodedFrom,
      extraGtids: step.extraGtids,
      gtids: await gtidsOfDecodedFile(decodedPath),
      startPosition: decodedFrom === "fork" ? start : "",
      complete: choice.complete,
      executor: ctx.executor,
      ...(undo ? { undo } : {}),
    };
    ctx.log.info({ path: folder, files: files.length, decodedFrom }, "binlogs saved");
    return outcome;
  } catch (err) {
    if (err instanceof MarinaError) throw err;
    throw new StepError(
      "TOOL_FAILED",
      `saving the binlogs of ${ctx.server.name}: ${(err as Error).message}`,
      { path: folder },
    );
  }
};
