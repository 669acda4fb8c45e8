import { z } from "zod";
import { envelopeOf } from "./envelope.js";
import { ClusterName, Epoch, GtidListText, ServerName } from "./names.js";

/**
 * Every situation the decider can diagnose. Actionable ones lead to an operation when the
 * constraints allow; the others are reported so a person or another system can act.
 */
export const Situations = {
  PrimaryHealthy: { actionable: false },
  PrimaryReadOnly: { actionable: true },
  NoPrimaryKnown: { actionable: false },
  PrimaryUnreachableByMonitor: { actionable: false },
  PrimaryUnreachableSeenByReplicas: { actionable: false },
  PrimaryDead: { actionable: true },
  PrimaryDeadNoCandidate: { actionable: false },
  FailoverBlocked: { actionable: false },
  ReplicaLagging: { actionable: false },
  ReplicaBroken: { actionable: false },
  ReplicaWritable: { actionable: true },
  ReplicaUnreachable: { actionable: false },
  OldPrimaryReturned: { actionable: true },
  OldPrimaryDiverged: { actionable: true },
  ServerDiverged: { actionable: true },
  SplitBrainRisk: { actionable: true },
  MaintenanceSet: { actionable: false },
  /** Strict durability is configured but the primary's semi-sync settings can fall back. */
  DurabilityWeakened: { actionable: true },
  /**
   * Every server of the cluster was down at once: Marina waits for the last primary, or
   * promotes only a server holding what it was last seen to have (failover.allDown).
   */
  AllServersDown: { actionable: false },
  /** A diverged server's extra transactions were saved (details: path, files, sizes). */
  BinlogsSaved: { actionable: false },
  /** Saving a diverged server's extra transactions failed (details: why; retried). */
  BinlogSaveFailed: { actionable: false },
  /** Automation paused (`cmd.pause`): nothing starts on its own; details say who and why. */
  Paused: { actionable: false },
  /** Automation resumed (`cmd.resume`). */
  Resumed: { actionable: false },
  /** Old backups of a server were deleted by `cmd.prune-backups` (details: ids, bytes). */
  BackupsPruned: { actionable: false },
} as const;

export type Situation = keyof typeof Situations;
export const situationList = Object.keys(Situations) as [Situation, ...Situation[]];

/** A diagnosis or a refusal, on `marina.v1.<cluster>.events`. */
export const ClusterEvent = z.strictObject({
  cluster: ClusterName,
  situation: z.enum(situationList),
  actionable: z.boolean(),
  server: ServerName.nullable(),
  reason: z.string().max(4096),
  epoch: Epoch,
  /** GTIDs a diverged server has that the primary lacks, and similar evidence. */
  extraGtids: GtidListText.nullable(),
  details: z.record(z.string().max(64), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});

export const ClusterEventMessage = envelopeOf("event", ClusterEvent);

export type ClusterEvent = z.infer<typeof ClusterEvent>;
