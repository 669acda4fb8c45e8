import { envelopeOf, HostName, OpId, ROOT, SAFE_NAME, ServerName } from "@marina/contracts";
import { z } from "zod";

// PROPOSED additions to @marina/contracts (agent.ts / subjects.ts), defined here until
// they land there. Same envelope, same validation rules as every other message.

/** Long actions (send-backup, receive-backup) reply at once and finish later. */
export const AgentPhase = z.enum([
  "guard",
  "stop",
  "empty",
  "listening",
  "connecting",
  "streaming",
  "prepare",
  "chown",
  "start",
  "restore-replication",
  "done",
  "failed",
  "cancelled",
]);

/** Progress of a running transfer, on `marina.v1.agent.<host>.progress`. */
export const AgentProgress = z.strictObject({
  host: HostName,
  opId: OpId,
  server: ServerName,
  action: z.enum(["send-backup", "receive-backup"]),
  phase: AgentPhase,
  bytes: z.number().min(0),
  /** Donor's estimate (its datadir size); null when unknown (the receiver). */
  totalBytes: z.number().min(0).nullable(),
  bytesPerSecond: z.number().min(0),
  etaMs: z.number().min(0).nullable(),
  elapsedMs: z.number().min(0),
});

export const AgentProgressMessage = envelopeOf("agent-progress", AgentProgress);
export type AgentProgress = z.infer<typeof AgentProgress>;
export type AgentPhase = z.infer<typeof AgentPhase>;

function hostToken(host: string): string {
  if (!SAFE_NAME.test(host)) throw new Error(`host "${host}" is not a safe subject token`);
  return host;
}

/** Proposed subject builders (next to subjects.agent / agentHeartbeat). */
export const agentSubjects = {
  /** Progress events of long actions. */
  progress: (host: string) => `${ROOT}.agent.${hostToken(host)}.progress`,
  /** The final AgentResultMessage of a long action (same opId as its request). */
  done: (host: string) => `${ROOT}.agent.${hostToken(host)}.done`,
  progressAll: () => `${ROOT}.agent.*.progress`,
  doneAll: () => `${ROOT}.agent.*.done`,
} as const;
