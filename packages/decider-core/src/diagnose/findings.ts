import type { ClusterConfig } from "@marina/contracts/config";
import type { Situation } from "@marina/contracts/events";
import type { GtidList } from "@marina/contracts/gtid";
import type { ServerObservation } from "@marina/contracts/health";
import type { CandidateChoice } from "../candidates.js";
import type { PrimaryAssessment } from "../evidence.js";
import type { DeciderOptions } from "../options.js";
import type { FailoverBlock } from "../policies/constraints.js";
import type { RestoreIntent } from "../restore-writes.js";
import { CLUSTER, tagOf } from "../situations.js";
import type { DeciderState } from "../state.js";

// What a diagnosis finds (situations per subject) and what it asks the leader to do.

type Detail = string | number | boolean | null;

export interface Finding {
  subject: string;
  tag: string;
  situation: Situation;
  server: string | null;
  reason: string;
  extraGtids: string | null;
  details: Record<string, Detail>;
}

export interface FenceIntent {
  server: string;
  /** Kill client sessions too (a former primary may still have writers). */
  kill: boolean;
  why: string;
}

export interface RejoinIntent {
  server: string;
  connection: string;
  useGtid: "slave_pos" | "current_pos";
  wasPrimary: boolean;
  why: string;
}

export interface DivergedIntent {
  server: string;
  extra: string;
  reason: string;
  situation: "OldPrimaryDiverged" | "ServerDiverged";
  /** An attached replica's errant transactions (see DeciderState.diverged). */
  errant?: boolean;
}

export interface Diagnosis {
  findings: Finding[];
  assessment: PrimaryAssessment | null;
  /** Set when the primary is dead and a failover may start now. */
  failover: { choice: Extract<CandidateChoice, { ok: true }>; reason: string } | null;
  blocked: FailoverBlock | null;
  rejoin: RejoinIntent | null;
  fences: FenceIntent[];
  /** The primary is read-only and writes may be turned back on (see restore-writes.ts). */
  restoreWrites: RestoreIntent | null;
  /** Strict durability: the primary whose semi-sync settings are to be made strict. */
  enforceStrict: string | null;
  /**
   * Replicas that must not acknowledge writes (never promoted, or delayed) found with
   * semi-sync slave on: it is to be turned off (durability.ts).
   */
  semiSyncOff: string[];
  /** Servers found diverged from samples (to be flagged). */
  diverged: DivergedIntent[];
  /** Replicas flagged for errant transactions that the primary has now (to be unflagged). */
  undiverged: string[];
  /**
   * Per replica found with errant GTIDs: those GTIDs and when a sample first showed them
   * (replaces DeciderState.errantSeen; see diagnose/replicas.ts errantSure).
   */
  errantSeen: Record<string, { extra: string; at: number }>;
  /** Subjects whose situations are kept as they were (their samples predate our changes). */
  carry: string[];
}

export type FindingExtra = {
  code?: string;
  extraGtids?: string | null;
  details?: Record<string, Detail>;
};

export function finding(
  subject: string,
  situation: Situation,
  reason: string,
  extra: FindingExtra = {},
): Finding {
  return {
    subject,
    tag: tagOf(situation, extra.code),
    situation,
    server: subject === CLUSTER ? null : subject,
    reason,
    extraGtids: extra.extraGtids ?? null,
    details: extra.details ?? {},
  };
}

/** What every part of a diagnosis reads, and the diagnosis it adds to. */
export interface DiagnoseCtx {
  state: DeciderState;
  config: ClusterConfig;
  now: number;
  opts: DeciderOptions;
  /** An operation runs: no failover, rejoin or writes restoration starts. */
  busy: boolean;
  primary: string | null;
  /** The primary's current observation, and the history it gives (null: not reachable). */
  primaryObs: ServerObservation | null;
  primaryHistory: GtidList | null;
  out: Diagnosis;
}

export interface ServerCtx extends DiagnoseCtx {
  name: string;
  /** Servers that replicate from the topology (attachedServers). */
  attached: ReadonlySet<string>;
}

export type Push = (situation: Situation, reason: string, extra?: FindingExtra) => void;

export function pushFor(c: ServerCtx): Push {
  return (situation, reason, extra = {}) =>
    c.out.findings.push(finding(c.name, situation, reason, extra));
}
