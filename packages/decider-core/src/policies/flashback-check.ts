import type { ErrorCode } from "@marina/contracts/errors";
import type { UndoVerdict } from "@marina/contracts/executor";
import { currentObservation, isKnownServer, sourceOf } from "../knowledge.js";
import type { Env, StartSpec } from "../plans/common.js";
import { historyOf } from "../plans/rejoin.js";
import { forkPointOf } from "../save-binlogs.js";

// Whether a server can be flashed back now (the command and failover.autoFlashback ask the
// same): flagged diverged, its extra transactions saved (clusters[].saveBinlogs) for this
// divergence, and the save's verdict says they can be undone.

export type FlashbackCheck =
  | { ok: true; start: Omit<StartSpec, "requestId" | "reason">; verdict: UndoVerdict }
  | { ok: false; code: ErrorCode; message: string; path?: string; verdict: UndoVerdict | null };

export function checkFlashback(env: Env, server: string, auto: boolean): FlashbackCheck {
  const { state, ctx } = env;
  const { config, now } = ctx;
  const no = (
    code: ErrorCode,
    message: string,
    verdict: UndoVerdict | null = null,
    path?: string,
  ) => ({ ok: false, code, message, verdict, ...(path ? { path } : {}) }) as const;
  if (!isKnownServer(config, server)) {
    return no(
      "UNKNOWN_SERVER",
      `server "${server}" is not part of cluster "${config.name}"`,
      null,
      "server",
    );
  }
  const primary = state.primary;
  if (primary === null) return no("NOT_APPLICABLE", "no primary is known");
  if (server === primary) return no("NOT_APPLICABLE", `${server} is the primary`);
  if (state.maintenance[server]) {
    return no("REFUSED", `${server} is in maintenance: clear-maintenance first`);
  }
  const dv = state.diverged[server];
  if (!dv) {
    return no(
      "NOT_APPLICABLE",
      `${server} is not flagged diverged: it has no extra transactions to undo`,
    );
  }
  if (!config.saveBinlogs) {
    return no(
      "NOT_APPLICABLE",
      `clusters[${config.name}].saveBinlogs is not set: the extra transactions are saved and judged before a flashback; rebuild ${server} instead`,
    );
  }
  const save = state.binlogSaves?.[server];
  if (!save || save.extraGtids !== dv.extraGtids || save.savedAt === null) {
    const why =
      !save || save.extraGtids !== dv.extraGtids
        ? "not saved yet"
        : save.pending
          ? "being saved"
          : `not saved (${save.attempts} attempt(s) failed)`;
    return no(
      "NOT_APPLICABLE",
      `the extra transactions ${dv.extraGtids} of ${server} are ${why}: a flashback comes after the save`,
    );
  }
  const verdict = save.undo ?? null;
  if (!verdict) {
    return no(
      "NOT_UNDOABLE",
      `the save of ${server} (${save.path}) has no flashback verdict (an executor of an earlier release saved it): rebuild it`,
    );
  }
  if (!verdict.undoable) {
    return no(
      "NOT_UNDOABLE",
      `the extra transactions of ${server} cannot be undone: ${verdict.reason}; rebuild it (cmd.rebuild)`,
      verdict,
    );
  }
  // After the verdict: a rebuild running because of it does not hide why.
  if (state.operation) {
    return no(
      "OPERATION_IN_PROGRESS",
      `operation ${state.operation.opId} (${state.operation.kind}) is running`,
      verdict,
    );
  }
  const failed = state.flashbackFailures?.[server];
  if (auto && failed && failed.extraGtids === dv.extraGtids) {
    return no(
      "REFUSED",
      `a flashback of ${server} failed (${failed.opId}): not tried again automatically`,
      verdict,
    );
  }
  const obs = currentObservation(state, config, server, now);
  if (!obs) {
    return no("SERVER_UNREACHABLE", `${server} is not reachable`, verdict);
  }
  // Its binlogs are reset (RESET MASTER) and the reverse is not binlogged: a server that
  // replicates from it would lose its position and keep the extra rows.
  const downstream = config.servers
    .map((s) => s.name)
    .filter((n) => {
      if (n === server) return false;
      const o = currentObservation(state, config, n, now);
      return o?.replication.some((c) => sourceOf(config, c) === server) ?? false;
    });
  if (downstream.length > 0) {
    return no(
      "NOT_APPLICABLE",
      `${downstream.join(", ")} replicate${downstream.length === 1 ? "s" : ""} from ${server}: a flashback resets its binlogs and would leave them behind — repoint them first, or rebuild ${server}`,
      verdict,
    );
  }
  // It is rejoined on one connection ('' from the primary): a multi-source server's other
  // connections would be left stopped by the fence.
  if (obs.replication.length > 1) {
    return no(
      "NOT_APPLICABLE",
      `${server} has ${obs.replication.length} replication connections (${obs.replication.map((c) => `'${c.connection}'`).join(", ")}): a flashback rejoins one; rebuild it, or undo by hand`,
      verdict,
    );
  }
  const pobs = currentObservation(state, config, primary, now);
  if (!pobs) return no("NOT_APPLICABLE", `the primary ${primary} is not reachable`, verdict);
  return {
    ok: true,
    verdict,
    start: {
      kind: "flashback",
      servers: { server, primary },
      plan: {
        kind: "flashback",
        server,
        primary,
        extraGtids: dv.extraGtids,
        forkPoint: forkPointOf(dv.extraGtids, historyOf(pobs)),
        tables: verdict.tables,
        savePath: save.path,
        wasPrimary: dv.situation === "OldPrimaryDiverged",
        auto,
        connection: "",
        useGtid: "slave_pos",
      },
    },
  };
}

/**
 * With failover.autoFlashback, a diverged server whose saved verdict says it can be undone
 * and whose flashback has not failed waits for the flashback, not for a rebuild.
 */
export function awaitsFlashback(env: Env, server: string): boolean {
  const { state, ctx } = env;
  if (!ctx.config.failover.autoFlashback) return false;
  const dv = state.diverged[server];
  const save = state.binlogSaves?.[server];
  if (!dv || !save || save.extraGtids !== dv.extraGtids || !save.undo?.undoable) return false;
  const failed = state.flashbackFailures?.[server];
  return !(failed && failed.extraGtids === dv.extraGtids);
}
