// The decider state as persisted in KV (`marina_state`, key `<cluster>.decider`), in the
// current format (state-format.ts migrates older ones first), checked at the edge before a
// new leader merges it: a value of the wrong shape (written by hand, by another tool, or
// corrupted) is refused with the path of what is wrong, and the leader starts from its own
// knowledge — rather than handing decide() something it would throw on at every input. The
// shape is checked as deep as the core relies on it; other fields are allowed.
import { OperationKind } from "@marina/contracts";
import { type DeciderState, STATE_FORMAT } from "@marina/decider-core";
import { z } from "zod";

const byName = z.record(z.string(), z.unknown());
const ms = z.number().finite();
/** A point in time a Date can hold (±8.64e15 ms): formatted in reasons, never throwing. */
const time = z.number().int().min(0).max(8.64e15);

const PersistedStep = z.looseObject({
  id: z.string(),
  key: z.string(),
  phase: z.string(),
  server: z.string(),
  step: z.looseObject({ kind: z.string() }),
  after: z.array(z.string()),
  status: z.string(),
  attempts: z.number().int().min(0),
});

const PersistedOperation = z.looseObject({
  opId: z.string().min(1),
  kind: OperationKind,
  phase: z.string(),
  startedAt: ms,
  steps: z.array(PersistedStep),
  plan: z.looseObject({ kind: OperationKind }),
  servers: z.record(z.string(), z.string()),
  agentCalls: z.array(z.looseObject({ id: z.string() })),
});

/** Who wrote the record: the decider and its lease epoch. */
export const StateWriter = z.object({ decider: z.string(), epoch: z.number().int().min(0) });
export type StateWriter = z.infer<typeof StateWriter>;

export const PersistedState = z.looseObject({
  version: z.literal(STATE_FORMAT),
  cluster: z.string().min(1),
  samples: byName,
  lastObservation: byName,
  lastLag: byName,
  heartbeats: byName,
  readOnly: byName,
  downSince: z.record(z.string(), ms),
  stepContact: z.record(z.string(), ms),
  expectedSources: byName,
  primary: z.string().nullable(),
  exPrimaries: byName,
  diverged: byName,
  maintenance: byName,
  situations: z.record(z.string(), z.array(z.string())),
  failovers: z.array(ms),
  operation: PersistedOperation.nullable(),
  history: z.array(z.looseObject({ opId: z.string(), kind: OperationKind, state: z.string() })),
  fences: byName,
  writesRestored: byName,
  /** Absent from states written before strict durability. */
  durabilityEnforced: byName.optional(),
  /** Absent from states written before binlog saves. */
  binlogSaves: z
    .record(
      z.string(),
      z.looseObject({
        opId: z.string(),
        sentAt: ms,
        extraGtids: z.string(),
        attempts: z.number().int().min(0),
        pending: z.boolean(),
        savedAt: ms.nullable(),
        path: z.string().nullable(),
      }),
    )
    .optional(),
  rejoinFailures: z.record(z.string(), ms),
  rebuildFailures: z.record(z.string(), ms),
  topology: z.looseObject({
    generation: z.number().int().min(0),
    key: z.string().nullable(),
    last: z.unknown(),
  }),
  writtenBy: StateWriter.nullable(),
  paused: z.looseObject({ since: ms, reason: z.string(), by: z.string().nullable() }).nullable(),
  /** Absent from states written before hooks. */
  vetoHold: z
    .looseObject({
      primary: z.string(),
      until: time,
      opId: z.string(),
      reason: z.string(),
      details: byName,
    })
    .nullable()
    .optional(),
  /** Absent from states written before hooks. */
  postHooks: z
    .record(
      z.string(),
      z.looseObject({
        opId: z.string(),
        stepId: z.string(),
        server: z.string(),
        step: z.looseObject({ kind: z.literal("run-hook") }),
        attempts: z.number().int().min(0),
        sentAt: time,
        timeoutMs: z.number().int().min(0).max(86_400_000),
        record: z.looseObject({ id: z.string(), message: z.string() }),
      }),
    )
    .optional(),
  /** Absent from states written before the whole-cluster-down policy. */
  lastKnown: z
    .record(
      z.string(),
      z.looseObject({
        role: z.enum(["primary", "replica", "other"]),
        gtidBinlogPos: z.string(),
        gtidCurrentPos: z.string(),
        at: ms,
      }),
    )
    .optional(),
  allDown: z
    .looseObject({ since: time, primary: z.string(), primaryGtid: z.string(), seenAt: time })
    .nullable()
    .optional(),
});

/** A persisted state: the core's, and who wrote it. */
export type StoredState = DeciderState & { writtenBy: StateWriter | null };

export type StateCheck = { ok: true; state: StoredState } | { ok: false; error: string };

/** Checks a value of the current format; the error names the first wrong field's path. */
export function checkPersistedState(raw: unknown): StateCheck {
  const r = PersistedState.safeParse(raw);
  if (r.success) return { ok: true, state: r.data as unknown as StoredState };
  const issue = r.error.issues[0];
  const path = issue?.path.map(String).join(".") || "(root)";
  return { ok: false, error: `${path}: ${issue?.message ?? "invalid"}` };
}
