// What the page reads from the decider's HTTP API (docs/http-api.md). Message shapes come
// from the contracts as types only (nothing of zod reaches the bundle); the status is a
// free record in the contracts, so the fields the page shows are declared here.
import type {
  ClusterEvent,
  ClusterTopology,
  CommandReply,
  DryRunReport,
  OperationEvent,
  OperationRecord,
} from "@marina/contracts";

export type {
  ClusterEvent,
  ClusterTopology,
  CommandReply,
  DryRunReport,
  OperationEvent,
  OperationRecord,
};

/** One frame of `GET …/events/stream` (and one entry of `GET …/events?all=true`). */
export type Published =
  | { readonly kind: "event"; readonly time: string; readonly payload: ClusterEvent }
  | { readonly kind: "topology"; readonly time: string; readonly payload: ClusterTopology }
  | { readonly kind: "operation"; readonly time: string; readonly payload: OperationEvent };

export interface StatusServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly role: string;
  readonly readOnly: boolean | null;
  readonly gtidCurrentPos: string | null;
  readonly lagSeconds: number | null;
  readonly situations: readonly string[];
  readonly reason: string | null;
  /** Who it replicates from now (absent from deciders before the dashboard). */
  readonly sources?: readonly { readonly connection: string; readonly source: string }[];
  /** The host agent serving it (absent from deciders before the dashboard). */
  readonly agentHost?: string | null;
}

export interface StatusOperation {
  readonly opId: string;
  readonly kind: string;
  readonly phase: string;
  readonly status: string;
  readonly startedAt: string;
  readonly servers: Readonly<Record<string, string>>;
}

/** The data of `GET /clusters/<c>/status` (decider-core's commands/status.ts). */
export interface StatusData {
  readonly cluster: string;
  readonly decider: string;
  readonly epoch: number;
  readonly primary: string | null;
  readonly primaryVerdict?: string | null;
  readonly writer: { readonly server: string; readonly host: string; readonly port: number } | null;
  readonly operation: StatusOperation | null;
  readonly servers: readonly StatusServer[];
  readonly clusterSituations: readonly string[];
  readonly paused?: {
    readonly since: string;
    readonly reason: string;
    readonly by: string | null;
  } | null;
  readonly maintenance: readonly string[];
  readonly diverged: Readonly<Record<string, string>>;
  readonly fenced: readonly string[];
  /** Agent host → ms since its last heartbeat (null: none seen yet). */
  readonly agents: Readonly<Record<string, number | null>>;
  readonly topologyGeneration: number;
}

/** What the sandbox's writer publishes (packages/sandbox/src/writer-stats.ts). */
export interface WriterStats {
  /** The server it writes to now (it follows the published topology's writer). */
  readonly target: string | null;
  readonly acknowledged: number;
  /** Writes that failed before they were sent: certainly not written. */
  readonly refused: number;
  /** Writes sent without an answer: they may or may not have committed. */
  readonly inDoubt: number;
  /** Acknowledged writes missing from the current writer at the last check. */
  readonly lost: number;
  /** When `lost` was last checked (ISO), null before the first check. */
  readonly checkedAt: string | null;
  readonly perSecond: number;
  readonly lastError: string | null;
}
