// Leader lease in JetStream KV, with a fencing epoch.
//
// - bucket `marina_leader` (TTL = lease): key `<cluster>` = {holder, epoch, renewedAt}.
//   Taken with kv.create (only when absent or expired), renewed with kv.update(revision):
//   compare-and-set, so a renewal after someone else took it fails at once.
// - bucket `marina_state` (no TTL): key `<cluster>.epoch` counts leaderships, so epochs only
//   rise even though lease records expire. Executors and agents admit only the current
//   lease's epoch (@marina/lease-fence).
// NATS 2.9 sends no watch event when a key expires, so followers retry on their own timer.
// A leader that was paused (SIGSTOP) checks its own monotonic clock before every action:
// past the TTL since its last successful renewal it is no longer leader, whatever it thinks.
// The record's format is @marina/lease-fence's, which executors and agents fence with.
// Bucket names are @marina/contracts' LEASE_BUCKET and STATE_BUCKET.
import {
  encodeLeaseRecord,
  LEASE_PLACEHOLDER,
  type LeaseRecord,
  parseLeaseRecord,
} from "@marina/lease-fence";
import type { KvBucket } from "./kv.js";

export type { LeaseRecord };

export interface LeaseOptions {
  cluster: string;
  holder: string;
  ttlMs: number;
  renewEveryMs: number;
  /** Monotonic milliseconds (performance.now in production). */
  now: () => number;
  onChange: (leader: boolean, epoch: number) => void;
  onError?: (err: unknown) => void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class Lease {
  private revision = 0;
  private epochValue = 0;
  private lastRenewOk = Number.NEGATIVE_INFINITY;
  private leaderFlag = false;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly leases: KvBucket,
    private readonly state: KvBucket,
    private readonly opts: LeaseOptions,
  ) {}

  /** True only while the lease is held and was renewed within the TTL. */
  get leader(): boolean {
    return this.leaderFlag && this.opts.now() - this.lastRenewOk < this.opts.ttlMs;
  }

  get epoch(): number {
    return this.epochValue;
  }

  /** Milliseconds of lease left; negative when expired. */
  remainingMs(): number {
    return this.opts.ttlMs - (this.opts.now() - this.lastRenewOk);
  }

  start(): void {
    void this.step();
    this.timer = setInterval(() => void this.step(), this.opts.renewEveryMs);
  }

  async stop(release = true): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (release && this.leader) {
      try {
        // Deleting lets a follower take over at once instead of after the TTL.
        await this.leases.delete(this.opts.cluster, { previousSeq: this.revision });
      } catch {
        // someone else holds it already
      }
    }
    this.setLeader(false);
  }

  /** One renewal or acquisition attempt; also run by the timer. */
  async step(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      if (this.leaderFlag && this.leader) await this.renew();
      else await this.acquire();
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.busy = false;
      if (this.leaderFlag && !this.leader) this.setLeader(false);
    }
  }

  private record(): Uint8Array {
    return encodeLeaseRecord({
      holder: this.opts.holder,
      epoch: this.epochValue,
      renewedAt: new Date().toISOString(),
    });
  }

  private async renew(): Promise<void> {
    const started = this.opts.now();
    try {
      this.revision = await this.leases.update(this.opts.cluster, this.record(), this.revision);
      this.lastRenewOk = started;
    } catch (err) {
      this.setLeader(false);
      throw err;
    }
  }

  private async acquire(): Promise<void> {
    // A leader whose lease lapsed (e.g. it was paused) steps down visibly first.
    if (this.leaderFlag) this.setLeader(false);
    const started = this.opts.now();
    let revision: number;
    try {
      revision = await this.leases.create(this.opts.cluster, enc.encode(LEASE_PLACEHOLDER));
    } catch {
      return; // held by someone else (or we lost a race): try again on the next tick
    }
    this.revision = revision;
    this.epochValue = await this.nextEpoch();
    this.revision = await this.leases.update(this.opts.cluster, this.record(), this.revision);
    this.lastRenewOk = started;
    this.setLeader(true);
  }

  /** Compare-and-set increment of the cluster's epoch counter. */
  private async nextEpoch(): Promise<number> {
    const key = `${this.opts.cluster}.epoch`;
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await this.state.get(key);
      if (entry?.operation !== "PUT") {
        try {
          await this.state.create(key, enc.encode("1"));
          return 1;
        } catch {
          continue;
        }
      }
      const next = Number(dec.decode(entry.value)) + 1;
      try {
        await this.state.update(key, enc.encode(String(next)), entry.revision);
        return next;
      } catch {
        // raced with another decider; read again
      }
    }
    throw new Error("could not increment the leader epoch (too much contention)");
  }

  private setLeader(leader: boolean): void {
    const was = this.leaderFlag;
    this.leaderFlag = leader;
    if (was !== leader) this.opts.onChange(leader, this.epochValue);
  }
}

/** Reads the current lease record (for executors, agents and status). */
export async function readLease(
  leases: KvBucket,
  cluster: string,
): Promise<LeaseRecord | undefined> {
  const e = await leases.get(cluster);
  if (e?.operation !== "PUT" || e.value.length === 0) return undefined;
  return parseLeaseRecord(e.value);
}
