// The `data` of the decider's answer to `cmd.status` (packages/decider-core/src/commands/
// status.ts). The contracts type it as a free record, so the CLI checks what it shows with
// its own schema at the edge; fields it does not show are passed through untouched.
import { z } from "zod";

const Iso = z.string();

export const StatusServer = z.looseObject({
  name: z.string(),
  role: z.string(),
  readOnly: z.boolean().nullable(),
  gtidCurrentPos: z.string().nullable(),
  situations: z.array(z.string()),
  reason: z.string().nullable(),
});

export const StatusOperation = z.looseObject({
  opId: z.string(),
  kind: z.string(),
  phase: z.string(),
  status: z.string(),
  promoted: z.boolean(),
  startedAt: Iso,
  servers: z.record(z.string(), z.string()),
});

export const StatusHistoryEntry = z.looseObject({
  opId: z.string(),
  kind: z.string(),
  state: z.string(),
  startedAt: Iso,
  endedAt: Iso,
  message: z.string(),
  servers: z.record(z.string(), z.string()),
});

export const StatusData = z.looseObject({
  cluster: z.string(),
  decider: z.string(),
  epoch: z.number(),
  primary: z.string().nullable(),
  writer: z.looseObject({ server: z.string(), host: z.string(), port: z.number() }).nullable(),
  operation: StatusOperation.nullable(),
  servers: z.array(StatusServer),
  clusterSituations: z.array(z.string()),
  maintenance: z.array(z.string()),
  diverged: z.record(z.string(), z.string()),
  fenced: z.array(z.string()),
  /** Agent host → ms since its last heartbeat (null: none seen). */
  agents: z.record(z.string(), z.number().nullable()),
  failovers: z.looseObject({
    inWindow: z.number(),
    maxPerWindow: z.number(),
    lastAt: Iso.nullable(),
    cooldownUntil: Iso.nullable(),
  }),
  topologyGeneration: z.number(),
  history: z.array(StatusHistoryEntry),
  primaryPosition: z.string().nullable(),
  /** Automation paused (absent from deciders before pause existed). */
  paused: z
    .looseObject({
      since: Iso,
      reason: z.string(),
      by: z.string().nullable(),
      /** What Marina would start on its own now, were it not paused. */
      held: z.array(z.string()),
    })
    .nullable()
    .optional(),
});

export type StatusData = z.infer<typeof StatusData>;
export type StatusServer = z.infer<typeof StatusServer>;
