import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  describeUndo,
  type FlashbackOutcome,
  MarinaError,
  type SaveBinlogsSettings,
  type UndoVerdict,
} from "@marina/contracts";
import {
  BINLOG_SAVE_NEEDS,
  describeMissing,
  FLASHBACK_NEEDS,
  flashbackTableNeeds,
  privilegeReport,
  readGrants,
} from "@marina/mariadb";
import { applyArgv, undoDecodeArgv } from "../flashback/argv.js";
import { columnCounts } from "../flashback/columns.js";
import { readDecodedFile, readFirstGtidList } from "../flashback/read-decoded.js";
import {
  atForkPoint,
  filterArgs,
  forkStateOf,
  holdsExtras,
  positionOfState,
  purgedExtras,
  type Selection,
  selectionOf,
} from "../flashback/selection.js";
import { undoVerdict } from "../flashback/verdict.js";
import { text } from "../rows.js";
import { type BinlogFile, chooseFiles, decodeStart } from "../save-binlogs/plan.js";
import { runTool } from "../save-binlogs/run-tool.js";
import { type StepContext, StepError, type StepOf, type StepRunner } from "./context.js";
import {
  dumpRaw,
  newFolder,
  readBinlogFiles,
  savedFiles,
  settingsFor,
  withOptionFile,
} from "./save-binlogs.js";

const ANALYSED = "undo-transactions.sql";
const REVERSE = "flashback.sql";
const RECORD = "flashback.json";

interface Before {
  readonly state: string;
  readonly readOnly: boolean;
  readonly replicating: string[];
}

async function readBefore(ctx: StepContext): Promise<Before> {
  const [v] = await ctx.db.rows(
    "SELECT @@GLOBAL.gtid_binlog_state AS state, @@GLOBAL.read_only AS ro",
  );
  const links = await ctx.db.rows("SHOW ALL SLAVES STATUS");
  return {
    state: v ? text(v, "state") : "",
    readOnly: v ? ["1", "ON"].includes(text(v, "ro").toUpperCase()) : false,
    replicating: links
      .filter((r) => text(r, "Slave_IO_Running") !== "No" || text(r, "Slave_SQL_Running") !== "No")
      .map((r) => `'${text(r, "Connection_name")}'`),
  };
}

/** The server must be fenced, not replicating, and hold exactly the extra transactions. */
function checkBefore(ctx: StepContext, step: StepOf<"flashback">, b: Before, sel: Selection) {
  const name = ctx.server.name;
  if (!b.readOnly) {
    throw new StepError(
      "REFUSED",
      `${name} is writable: a flashback needs it fenced (read_only=1)`,
    );
  }
  if (b.replicating.length > 0) {
    throw new StepError(
      "REFUSED",
      `${name} replicates (${b.replicating.join(", ")}): a flashback needs its replication stopped`,
    );
  }
  if (!holdsExtras(sel, b.state)) {
    throw new StepError(
      "REFUSED",
      `${name} changed since it was found diverged: gtid_binlog_state is ${b.state || "empty"}, the extra transactions end at ${step.extraGtids}`,
    );
  }
}

/**
 * One flashback per server at a time: a named lock held by this step's session (released
 * when it closes), so a second request for the same server — sent by hand, or by a decider
 * that did not know of the first — is refused instead of applying the reverse twice.
 */
async function lockFlashback(ctx: StepContext) {
  const [r] = await ctx.db.rows("SELECT GET_LOCK('marina_flashback', 0) AS got");
  if (!r || text(r, "got") !== "1") {
    throw new StepError(
      "REFUSED",
      `a flashback of ${ctx.server.name} is already running (lock marina_flashback held): nothing done`,
    );
  }
}

/** Judges the extra transactions in the saved files; NOT_UNDOABLE stops here, nothing changed. */
async function judge(
  ctx: StepContext,
  cfg: SaveBinlogsSettings,
  o: { folder: string; files: string[]; start: string; sel: Selection; complete: boolean },
): Promise<UndoVerdict> {
  const out = join(o.folder, ANALYSED);
  const argv = undoDecodeArgv({
    files: o.files,
    start: o.start,
    filters: filterArgs(o.sel),
    out,
    flashback: false,
  });
  const r = await runTool(cfg.program, argv, cfg.timeoutMs);
  if (r.code !== 0) {
    throw new StepError(
      "TOOL_FAILED",
      `mariadb-binlog could not decode the saved files: ${r.stderr}`,
      {
        path: o.folder,
      },
    );
  }
  const decoded = await readDecodedFile(out);
  // Extra transactions written in a file no longer there: the first file began past them.
  const complete = o.complete && purgedExtras(o.sel, await readFirstGtidList(out)).length === 0;
  const verdict = undoVerdict(decoded, o.sel, await columnCounts(ctx.db, decoded), complete);
  if (!verdict.undoable) {
    throw new StepError(
      "NOT_UNDOABLE",
      `the extra transactions of ${ctx.server.name} cannot be undone: ${verdict.reason}`,
      { path: o.folder, verdict },
    );
  }
  return verdict;
}

/** The grants the rest needs, read before anything changes: MISSING_PRIVILEGE names them. */
async function checkGrants(ctx: StepContext, verdict: UndoVerdict) {
  const reading = await readGrants((q) => ctx.db.rows(q));
  const needs = [
    ...BINLOG_SAVE_NEEDS,
    ...FLASHBACK_NEEDS,
    ...flashbackTableNeeds(verdict.tables.map((t) => t.schema)),
  ];
  const report = privilegeReport(reading, needs);
  if (report.missing.length > 0) {
    throw new StepError(
      "MISSING_PRIVILEGE",
      `nothing was changed: ${describeMissing("executor", ctx.server.name, report.account, report.missing)}`,
    );
  }
}

/** Applies the reverse as the executor's account, with sql_log_bin=0. */
function applyReverse(ctx: StepContext, cfg: SaveBinlogsSettings, reverse: string) {
  return withOptionFile(ctx, (optionFile) =>
    runTool(cfg.client ?? "mariadb", applyArgv(optionFile), cfg.timeoutMs, reverse),
  );
}

/** RESET MASTER, then gtid_binlog_state as at the fork point; checked. */
async function resetGtidState(ctx: StepContext, forkState: string): Promise<string> {
  await ctx.db.run({ sql: "RESET MASTER" });
  if (forkState !== "") {
    await ctx.db.run({ sql: "SET GLOBAL gtid_binlog_state = ?", params: [forkState] });
  }
  const [v] = await ctx.db.rows("SELECT @@GLOBAL.gtid_binlog_pos AS pos");
  const pos = v ? text(v, "pos") : "";
  if (pos !== positionOfState(forkState)) {
    throw new Error(
      `gtid_binlog_pos is ${pos || "empty"} after the reset, not ${positionOfState(forkState)}`,
    );
  }
  return pos;
}

/** The answer when the server is already at the fork point: nothing to do. */
function alreadyDone(ctx: StepContext, state: string): FlashbackOutcome {
  const rows = { insert: 0, update: 0, delete: 0 };
  return {
    path: "",
    alreadyDone: true,
    verdict: { undoable: true, reason: "", transactions: [], count: 0, tables: [], rows },
    stateBefore: state,
    stateAfter: state,
    binlogPos: positionOfState(state),
    executor: ctx.executor,
  };
}

/** How far a flashback got, for its failure's data. */
interface Progress {
  stage: "dump" | "judge" | "privileges" | "reverse" | "apply" | "gtid-state";
  verdict: UndoVerdict | null;
}

interface Undo {
  readonly folder: string;
  readonly first: BinlogFile;
  readonly complete: boolean;
  readonly sel: Selection;
  readonly before: Before;
  /** The settings with what is left of the step's time. */
  readonly budget: () => SaveBinlogsSettings;
}

/** Dump, judge, check the grants, make and apply the reverse, reset the GTID state. */
async function undo(
  ctx: StepContext,
  step: StepOf<"flashback">,
  u: Undo,
  p: Progress,
): Promise<FlashbackOutcome> {
  const { folder, sel, before, budget } = u;
  await dumpRaw(ctx, budget(), folder, u.first.name);
  const files = (await savedFiles(folder)).map((f) => join(folder, f.name));
  const start = decodeStart(u.first.start, step.forkPoint);
  p.stage = "judge";
  const verdict = await judge(ctx, budget(), { folder, files, start, sel, complete: u.complete });
  p.verdict = verdict;
  p.stage = "privileges";
  await checkGrants(ctx, verdict);
  p.stage = "reverse";
  const reverse = join(folder, REVERSE);
  const argv = { files, start, filters: filterArgs(sel), out: reverse, flashback: true };
  const gen = await runTool(budget().program, undoDecodeArgv(argv), budget().timeoutMs);
  if (gen.code !== 0) {
    throw new StepError("TOOL_FAILED", `mariadb-binlog --flashback failed: ${gen.stderr}`);
  }
  p.stage = "apply";
  const applied = await applyReverse(ctx, budget(), reverse);
  if (applied.code !== 0) {
    throw new StepError(
      applied.timedOut ? "TIMEOUT" : "TOOL_FAILED",
      `applying the reverse of ${describeUndo(verdict)} failed part-way (${applied.timedOut ? "timed out" : `exit ${applied.code}`}): ${applied.stderr}`,
    );
  }
  p.stage = "gtid-state";
  const now = await readBefore(ctx);
  if (now.state !== before.state) {
    throw new StepError(
      "REFUSED",
      `${ctx.server.name} was written to during the flashback (gtid_binlog_state ${before.state} → ${now.state}): its GTID state is left as it is`,
    );
  }
  const forkState = forkStateOf(sel, before.state);
  const binlogPos = await resetGtidState(ctx, forkState);
  return {
    path: folder,
    alreadyDone: false,
    verdict,
    stateBefore: before.state,
    stateAfter: forkState,
    binlogPos,
    executor: ctx.executor,
  };
}

/**
 * Undoes a diverged server's extra transactions (see the step's contract): dump, judge,
 * reverse, apply without GTIDs, reset the GTID state to the fork point. A failure says how
 * far it got in its data (`stage`, `path`, `verdict`); the server is left as it is: fenced.
 * Nothing in it is about primaries: any server, read-only and not replicating, can have
 * given GTIDs undone (a replica's errant transactions too: extraGtids and forkPointOf).
 */
export const flashback: StepRunner<"flashback"> = async (ctx, step) => {
  const settings = await settingsFor(ctx);
  // Every program gets what is left of the step's time: the decider waits that long only.
  const deadline = ctx.clock.now() + step.timeoutMs;
  const budget = (): SaveBinlogsSettings => ({
    ...settings,
    timeoutMs: Math.max(1000, deadline - ctx.clock.now()),
  });
  const sel = selectionOf(step.extraGtids, step.forkPoint);
  // The lock first: a second request must not read the state the first one is changing.
  await lockFlashback(ctx);
  const before = await readBefore(ctx);
  if (atForkPoint(sel, before.state)) return alreadyDone(ctx, before.state);
  checkBefore(ctx, step, before, sel);
  const choice = chooseFiles(await readBinlogFiles(ctx), step.forkPoint);
  const first = choice.files[0];
  if (!first) throw new StepError("NOT_UNDOABLE", `${ctx.server.name} has no binlog files`);
  const folder = await newFolder(ctx, settings.dir);
  const p: Progress = { stage: "dump", verdict: null };
  try {
    const u = { folder, first, complete: choice.complete, sel, before, budget };
    const outcome = await undo(ctx, step, u, p);
    await writeFile(join(folder, RECORD), `${JSON.stringify(outcome, null, 2)}\n`, { flag: "wx" });
    ctx.log.info({ path: folder, undone: describeUndo(outcome.verdict) }, "flashback done");
    return outcome;
  } catch (err) {
    const data = {
      path: folder,
      stage: p.stage,
      stateBefore: before.state,
      ...(p.verdict ? { verdict: p.verdict } : {}),
    };
    if (err instanceof StepError) {
      throw new StepError(err.code, err.message, { ...err.data, ...data });
    }
    if (err instanceof MarinaError) throw new StepError(err.code, err.message, data);
    throw new StepError(
      "TOOL_FAILED",
      `flashback of ${ctx.server.name} (${p.stage}): ${(err as Error).message}`,
      data,
    );
  }
};
