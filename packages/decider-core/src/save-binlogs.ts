import type { BinlogSaveOutcome, ExecResult } from "@marina/contracts/executor";
import { formatGtidList, type Gtid, type GtidList, parseGtidList } from "@marina/contracts/gtid";
import type { Finding } from "./diagnose/findings.js";
import { flaggedDiverged } from "./donors.js";
import { situationEvent } from "./events.js";
import { currentObservation } from "./knowledge.js";
import type { Env } from "./plans/common.js";
import { historyOf } from "./plans/rejoin.js";
import { sendStep } from "./restore-writes.js";
import type { BinlogSave } from "./state.js";

// clusters[].saveBinlogs: a server flagged diverged (recorded so, or a replica found with
// errant transactions: ServerDiverged) gets its extra transactions saved once
// per divergence (its extraGtids), by an executor, from the fork point: one save-binlogs step
// while the server is reachable, sent again after enforceRetryMs when it failed, at most
// SAVE_ATTEMPTS times (also when its answer never came: lost with a leader change). The outcome is an event: BinlogsSaved (path, files, sizes, GTIDs) or
// BinlogSaveFailed. Unset: nothing is sent.

export const SAVE_ATTEMPTS = 3;

/**
 * The fork point: per domain of the extra GTIDs, the last GTID of the same server the
 * primary has (the extra ones come after it). A domain where the primary has nothing of that
 * server is left out: saved from the server's first binlog file.
 */
export function forkPointOf(extraGtids: string, primaryHistory: GtidList): string {
  const out: Gtid[] = [];
  for (const x of parseGtidList(extraGtids)) {
    const common = primaryHistory.find(
      (h) => h.domain === x.domain && h.server === x.server && h.seq < x.seq,
    );
    if (common) out.push(common);
  }
  return formatGtidList(out);
}

/**
 * Whether a save is due for a server diverged with `extraGtids`. A save still pending past
 * its reply timeout (its answer lost with a leader change) counts as failed.
 */
function due(
  have: BinlogSave | undefined,
  extraGtids: string,
  now: number,
  retryMs: number,
  lostAfterMs: number,
) {
  if (!have || have.extraGtids !== extraGtids) return true;
  if (have.savedAt !== null || have.attempts >= SAVE_ATTEMPTS) return false;
  return now - have.sentAt >= (have.pending ? lostAfterMs : retryMs);
}

/**
 * With saveBinlogs, a diverged server's save is still to come: not sent yet, or sent and
 * neither done nor given up. An automatic rebuild waits for it (it would reset the binlogs).
 */
export function binlogSaveOutstanding(env: Env, server: string): boolean {
  const { state } = env;
  if (!env.ctx.config.saveBinlogs || !flaggedDiverged(state, server)) return false;
  const have = state.binlogSaves?.[server];
  const dv = state.diverged[server];
  if (!have || (dv && have.extraGtids !== dv.extraGtids)) return true;
  return have.savedAt === null && (have.pending || have.attempts < SAVE_ATTEMPTS);
}

/**
 * The servers diverged now, with their extra GTIDs: those recorded so, and replicas found
 * with errant transactions (a situation, not recorded: they may still replicate).
 */
export function divergedNow(env: Env, findings: readonly Finding[]): Map<string, string> {
  const out = new Map(Object.entries(env.state.diverged).map(([k, v]) => [k, v.extraGtids]));
  for (const f of findings) {
    if (f.tag === "ServerDiverged" && f.server !== null && f.extraGtids && !out.has(f.server)) {
      out.set(f.server, f.extraGtids);
    }
  }
  return out;
}

/**
 * Sends the saves due; `busy`: servers an operation's steps work on now (and any server the
 * running operation names: a rebuild's target is worked on by its agent).
 */
export function sendBinlogSaves(
  env: Env,
  diverged: ReadonlyMap<string, string>,
  busy: ReadonlySet<string>,
) {
  const { state, ctx } = env;
  const cfg = ctx.config.saveBinlogs;
  const saves = state.binlogSaves;
  if (!saves) return;
  const named = new Set(Object.values(state.operation?.servers ?? {}));
  // Forgotten once the server is seen not diverged (rebuilt, flashed back): not while it is
  // out of sight, nor while an operation works on it (a flashback that fails flags it again).
  for (const server of Object.keys(saves)) {
    if (
      !diverged.has(server) &&
      !named.has(server) &&
      currentObservation(state, ctx.config, server, ctx.now)
    ) {
      delete saves[server];
      delete state.flashbackFailures?.[server];
    }
  }
  if (!cfg) return;
  const lostAfterMs = cfg.timeoutMs + env.opts.stepReplyMarginMs + env.opts.enforceRetryMs;
  for (const [server, extraGtids] of diverged) {
    const have = saves[server];
    if (named.has(server) || busy.has(server)) continue;
    if (!due(have, extraGtids, ctx.now, env.opts.enforceRetryMs, lostAfterMs)) continue;
    // The dump reads the server itself: only while a monitor reaches it.
    if (!currentObservation(state, ctx.config, server, ctx.now)) continue;
    const primaryObs =
      state.primary === null ? null : currentObservation(state, ctx.config, state.primary, ctx.now);
    const forkPoint = forkPointOf(extraGtids, primaryObs ? historyOf(primaryObs) : []);
    const opId = ctx.newOpId();
    const attempts = have && have.extraGtids === extraGtids ? have.attempts + 1 : 1;
    saves[server] = {
      opId,
      sentAt: ctx.now,
      extraGtids: extraGtids,
      attempts,
      pending: true,
      savedAt: null,
      path: null,
    };
    sendStep(
      env,
      server,
      opId,
      "save",
      { kind: "save-binlogs", extraGtids: extraGtids, forkPoint, timeoutMs: cfg.timeoutMs },
      `diverged (${extraGtids}): saving its extra transactions`,
    );
  }
}

function undoText(v: BinlogSaveOutcome["undo"]): string {
  if (!v) return "not judged for a flashback";
  return v.undoable
    ? `can be flashed back (${v.count} transaction(s), ${v.rows.insert} insert(s), ${v.rows.update} update(s), ${v.rows.delete} delete(s))`
    : `cannot be flashed back: ${v.reason}`;
}

function filesText(o: BinlogSaveOutcome): string {
  return o.files.map((f) => `${f.name} (${f.bytes} B)`).join(", ");
}

/** Result of a save-binlogs step; false when the id is not one of ours. */
export function onBinlogSaveResult(env: Env, opId: string, result: ExecResult): boolean {
  const saves = env.state.binlogSaves ?? {};
  const entry = Object.entries(saves).find(([, v]) => v.opId === opId);
  if (!entry) return false;
  const [server, rec] = entry;
  const { ctx } = env;
  rec.pending = false;
  const data = result.data as Partial<BinlogSaveOutcome>;
  if (result.ok && typeof data.path === "string" && Array.isArray(data.files)) {
    const o = data as BinlogSaveOutcome;
    rec.savedAt = ctx.now;
    rec.path = o.path;
    rec.undo = o.undo ?? null;
    const total = o.files.reduce((n, f) => n + f.bytes, 0);
    env.actions.push(
      situationEvent(
        ctx.config.name,
        ctx.epoch,
        "BinlogsSaved",
        server,
        `extra transactions ${rec.extraGtids} saved by ${o.executor} in ${o.path}: ${filesText(o)}; ${o.gtids.count} transaction(s) from ${o.gtids.first || "-"} to ${o.gtids.last || "-"} decoded into ${o.decoded.name} (${o.decoded.bytes} B)${o.complete ? "" : " (the fork point's binlog was purged: from the oldest file left)"}; ${undoText(o.undo)}`,
        {
          extraGtids: rec.extraGtids,
          details: {
            path: o.path,
            executor: o.executor,
            transactions: o.gtids.count,
            firstGtids: o.gtids.first,
            lastGtids: o.gtids.last,
            files: o.files.map((f) => f.name).join(","),
            sizes: o.files.map((f) => String(f.bytes)).join(","),
            bytes: total,
            decoded: o.decoded.name,
            decodedBytes: o.decoded.bytes,
            decodedFrom: o.decodedFrom,
            startPosition: o.startPosition,
            complete: o.complete,
            undoable: o.undo?.undoable ?? null,
            undoReason: o.undo ? o.undo.reason || null : "not judged by this executor",
          },
        },
      ),
    );
    return true;
  }
  const why = result.error ? `${result.error.code}: ${result.error.message}` : "no outcome";
  const again = rec.attempts < SAVE_ATTEMPTS;
  env.actions.push(
    situationEvent(
      ctx.config.name,
      ctx.epoch,
      "BinlogSaveFailed",
      server,
      `saving the extra transactions ${rec.extraGtids} failed (attempt ${rec.attempts} of ${SAVE_ATTEMPTS}${again ? ", tried again" : ""}): ${why}`,
      {
        extraGtids: rec.extraGtids,
        details: {
          attempt: rec.attempts,
          code: result.error?.code ?? null,
          path: typeof data.path === "string" ? data.path : null,
        },
      },
    ),
  );
  return true;
}
