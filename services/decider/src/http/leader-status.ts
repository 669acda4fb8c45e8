// The leading decider's answer to `status`, asked through the command intake (a follower
// forwards it to the leader), kept for a short while. The proxy health checks answer only
// from an answer younger than `statusMaxAgeMs`; none in `healthTimeoutMs` means 503.
import { z } from "zod";
import type { CommandSubmitter } from "./deps.js";

/** What the health checks read of the status `data` (decider-core commands/status.ts). */
export const HealthStatus = z.looseObject({
  decider: z.string(),
  epoch: z.number(),
  writer: z.looseObject({ server: z.string(), host: z.string(), port: z.number() }).nullable(),
  /** The leader's verdict on the primary (older deciders do not send it). */
  primaryVerdict: z.string().nullable().optional(),
  operation: z.looseObject({ opId: z.string(), kind: z.string() }).nullable(),
  servers: z.array(
    z.looseObject({
      name: z.string(),
      role: z.string(),
      readOnly: z.boolean().nullable(),
      lagSeconds: z.number().nullable().optional(),
      situations: z.array(z.string()),
    }),
  ),
});
export type HealthStatus = z.infer<typeof HealthStatus>;

export interface LeaderStatus {
  readonly status: HealthStatus;
  /** Monotonic ms when the answer came. */
  readonly at: number;
}

export class LeaderStatusCache {
  private last: LeaderStatus | undefined;
  private pending: Promise<LeaderStatus | null> | undefined;

  constructor(
    private readonly cluster: string,
    private readonly commands: CommandSubmitter,
    private readonly monotonic: () => number,
  ) {}

  /** A status at most `maxAgeMs` old, asked again when older; null when none came in time. */
  async current(maxAgeMs: number, timeoutMs: number): Promise<LeaderStatus | null> {
    if (this.last && this.monotonic() - this.last.at <= maxAgeMs) return this.last;
    // One question at a time however many checks arrive meanwhile.
    this.pending ??= this.ask(timeoutMs).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async ask(timeoutMs: number): Promise<LeaderStatus | null> {
    try {
      const reply = await this.commands.command(this.cluster, "status", "{}", timeoutMs);
      if (!reply.ok) return null;
      const parsed = HealthStatus.safeParse(reply.data);
      if (!parsed.success) return null;
      this.last = { status: parsed.data, at: this.monotonic() };
      return this.last;
    } catch {
      return null;
    }
  }
}

/**
 * The writer a proxy may be sent to: none when the leader has no fresh sample of the
 * primary (`unknown`: every monitor gone, say) — a stale writer must not get writes.
 */
export function currentWriter(status: HealthStatus): HealthStatus["writer"] {
  return status.primaryVerdict === "unknown" ? null : status.writer;
}
