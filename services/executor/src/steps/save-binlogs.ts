import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BinlogSaveOutcome, MarinaError } from "@marina/contracts";
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
import { type StepContext, StepError, type StepRunner } from "./context.js";

const DECODED = "extra-transactions.sql";

/** The server's binlog files, each with the GTID position at its start. */
async function readBinlogFiles(ctx: StepContext): Promise<BinlogFile[]> {
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

/**
 * Saves a diverged server's extra transactions: whole binlog files from the first one holding
 * the fork point, dumped raw over the replication protocol into a new folder, then decoded
 * there into SQL text from the fork point (whole files when that fails).
 */
export const saveBinlogs: StepRunner<"save-binlogs"> = async (ctx, step) => {
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
  const all = await readBinlogFiles(ctx);
  if (all.length === 0)
    throw new StepError("NOT_APPLICABLE", `${ctx.server.name} has no binlog files`);
  const choice = chooseFiles(all, step.forkPoint);
  const first = choice.files[0] as BinlogFile;

  await mkdir(cfg.dir, { recursive: true, mode: 0o700 });
  const folder = join(
    cfg.dir,
    saveFolderName(ctx.cluster.name, ctx.server.name, new Date(ctx.clock.now()), ctx.opId),
  );
  // Not recursive: an existing folder fails (EEXIST), an earlier save is never overwritten.
  await mkdir(folder, { mode: 0o700 });

  const secrets = await mkdtemp(join(tmpdir(), "marina-binlog-"));
  try {
    const optionFile = join(secrets, "client.cnf");
    await writeFile(
      optionFile,
      optionFileText({
        user: ctx.cluster.admin.user,
        password: ctx.cluster.admin.password,
        host: ctx.server.host,
        port: ctx.server.port,
        tls: ctx.cluster.tlsFiles,
      }),
      { mode: 0o600, flag: "wx" },
    );
    const started = ctx.clock.now();
    const dump = await runTool(
      cfg.program,
      dumpArgv({ optionFile, folder, first: first.name, dumpServerId: cfg.dumpServerId }),
      cfg.timeoutMs,
    );
    if (dump.code !== 0) {
      throw new StepError(
        dump.timedOut ? "TIMEOUT" : "TOOL_FAILED",
        `mariadb-binlog dump of ${ctx.server.name} from ${first.name} failed (${dump.timedOut ? "timed out" : `exit ${dump.code}`}): ${dump.stderr}`,
        { path: folder },
      );
    }
    const files: BinlogSaveOutcome["files"] = [];
    for (const f of choice.files) {
      const st = await stat(join(folder, f.name)).catch(() => null);
      if (st) files.push({ name: f.name, bytes: st.size });
    }
    // Files rotated in during the dump come too (--to-last-log).
    const paths = files.map((f) => join(folder, f.name));
    const out = join(folder, DECODED);
    const start = decodeStart(first.start, step.forkPoint);
    const left = Math.max(1000, cfg.timeoutMs - (ctx.clock.now() - started));
    let decodedFrom: BinlogSaveOutcome["decodedFrom"] = start === "" ? "files" : "fork";
    let decode = await runTool(cfg.program, decodeArgv({ files: paths, start, out }), left);
    if (decode.code !== 0 && start !== "") {
      ctx.log.warn(
        { err: decode.stderr },
        "decoding from the fork point failed; decoding the whole files",
      );
      decodedFrom = "files";
      decode = await runTool(cfg.program, decodeArgv({ files: paths, start: "", out }), left);
    }
    if (decode.code !== 0) {
      throw new StepError(
        "TOOL_FAILED",
        `mariadb-binlog could not decode the saved files: ${decode.stderr}`,
        { path: folder, files },
      );
    }
    const decoded = await stat(out);
    const gtids = await gtidsOfDecodedFile(out);
    const outcome: BinlogSaveOutcome = {
      path: folder,
      files,
      decoded: { name: DECODED, bytes: decoded.size },
      decodedFrom,
      extraGtids: step.extraGtids,
      gtids,
      startPosition: decodedFrom === "fork" ? start : "",
      complete: choice.complete,
      executor: ctx.executor,
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
  } finally {
    await rm(secrets, { recursive: true, force: true });
  }
};
