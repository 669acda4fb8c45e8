import { z } from "zod";
import { envelopeOf } from "./envelope.js";
import { ErrorBody } from "./error-body.js";
import { ClusterName, Epoch, OpId, ServerName } from "./names.js";

export const OperationKind = z.enum([
  "failover",
  "switchover",
  "rejoin",
  "rebuild",
  "flashback",
  "provision",
  "backup",
  "restore",
  "prune",
]);
export const OperationState = z.enum(["running", "succeeded", "failed", "cancelled"]);

/** Progress and result of one operation, on `marina.v1.<cluster>.op.<opId>`. */
export const OperationEvent = z.strictObject({
  cluster: ClusterName,
  opId: OpId,
  kind: OperationKind,
  state: OperationState,
  /** Named phase, e.g. `verify`, `drain`, `promote`, `repoint`, `stream`, `prepare`. */
  phase: z.string().max(64),
  epoch: Epoch,
  /** Servers concerned: the failed primary, the new one, the rebuild target, ... */
  servers: z.record(z.string().max(32), ServerName),
  message: z.string().max(4096),
  progress: z
    .strictObject({
      bytes: z.number().min(0),
      totalBytes: z.number().min(0).nullable(),
      bytesPerSecond: z.number().min(0),
      etaMs: z.number().min(0).nullable(),
    })
    .nullable(),
  startedAt: z.iso.datetime({ offset: true }),
  endedAt: z.iso.datetime({ offset: true }).nullable(),
  error: ErrorBody.nullable(),
  /** Timings in ms of named phases, for audit and benchmarks. */
  timings: z.record(z.string().max(64), z.number().min(0)),
});

export const OperationMessage = envelopeOf("operation", OperationEvent);

export type OperationKind = z.infer<typeof OperationKind>;
export type OperationState = z.infer<typeof OperationState>;
export type OperationEvent = z.infer<typeof OperationEvent>;
