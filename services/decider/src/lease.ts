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
// With several deciders sharing clusters (sharing.ts), a decider that is not the cluster's
// preferred owner does not compete: it only reads the key, and competes once the lease has
// been free for `freeGraceMs` (the preferred one could not take it). `release()` gives the
// lease up (delete at our revision) without stopping, for a handover.
// The record's format is @marina/lease-fence's, which executors and agents fence with.
// A decider that may not lead a cluster now (`mayLead`: its persisted state is of a format it
// cannot read) gives the lease up like a handover and does not compete until it may.
// Bucket names are @marina/contracts' LEASE_BUCKET and STATE_BUCKET.
import {
  encodeLeaseRecord,
  LEASE_PLACEHOLDER,
  type LeaseRecord,
  parseLeaseRecord,
} from "@marina/lease-fence";
import { isCasConflict, type KvBucket } from "./kv.js";

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
  /** Whether this decider is the cluster's preferred owner now; absent: always compete. */
  preferred?: () => boolean;
  /** A decider that is not the preferred owner competes once the lease was free this long. */
  freeGraceMs?: number;
  /** False: give the lease up and do not compete (asked before every renewal and attempt). */
  mayLead?: () => boolean | Promise<boolean>;
  /**
   * Whether the cluster's automation is paused, written into every renewal: the agents
   * beside its servers do not self-fence them while it is.
   */
  paused?: () => boolean;
  /** The lease format written (default LEASE_FORMAT; lower: tests of mixed releases). */
  format?: number;
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
  /** When this decider first saw the lease free (not preferred: waiting out the grace). */
  private freeSince: number | undefined;

  constructor(
    private readonly leases: KvBucket,
    private readonly state: KvBucket,
    private readonly opts: LeaseOptions,
  ) {}

  /**
   * True only while the lease is held and was renewed within the TTL, less a margin: the
   * key's expiry is applied by NATS servers on their own clocks, which may run a little fast.
   */
  get leader(): boolean {
    return this.leaderFlag && this.opts.now() - this.lastRenewOk < this.validMs();
  }

  private validMs(): number {
    return this.opts.ttlMs - Math.min(500, Math.floor(this.opts.ttlMs / 10));
  }

  get epoch(): number {
    return this.epochValue;
  }

  /** Milliseconds of lease left; negative when expired. */
  remainingMs(): number {
    return this.validMs() - (this.opts.now() - this.lastRenewOk);
  }

  start(): void {
    void this.step();
    this.timer = setInterval(() => void this.step(), this.opts.renewEveryMs);
  }

  async stop(release = true): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (release && this.leader) {
      // Deleting lets a follower take over at once instead of after the TTL.
      await this.deleteOwn(this.revision).catch(() => {}); // someone else holds it already
    }
    this.setLeader(false);
  }

  /**
   * Gives the lease up for a handover: steps down first (nothing is acted on from here), then
   * deletes the key at our revision so the preferred decider can take it at once. False when
   * not leading, or a renewal is in flight (try again later).
   */
  async release(): Promise<boolean> {
    if (this.busy || this.stopped || !this.leader) return false;
    this.busy = true;
    const revision = this.revision;
    this.setLeader(false);
    this.freeSince = undefined;
    try {
      await this.deleteOwn(revision);
      return true;
    } catch (err) {
      // The key is no longer at our revision (it lapsed and someone took it): nothing to give.
      this.opts.onError?.(err);
      return false;
    } finally {
      this.busy = false;
    }
  }

  /** One renewal or acquisition attempt; also run by the timer. */
  async step(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      if (this.leaderFlag && this.leader) {
        if (await this.allowed()) await this.renew();
        else await this.resign();
      } else await this.acquire();
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.busy = false;
      if (this.leaderFlag && !this.leader) this.setLeader(false);
    }
  }

  private record(): Uint8Array {
    return encodeLeaseRecord(
      {
        holder: this.opts.holder,
        epoch: this.epochValue,
        renewedAt: new Date().toISOString(),
        paused: this.opts.paused?.() ?? false,
      },
      this.opts.format,
    );
  }

  private async allowed(): Promise<boolean> {
    return this.opts.mayLead ? await this.opts.mayLead() : true;
  }

  /** Steps down, then deletes the key at our revision (as release() does). */
  private async resign(): Promise<void> {
    const revision = this.revision;
    this.setLeader(false);
    this.freeSince = undefined;
    await this.deleteOwn(revision);
  }

  private async renew(): Promise<void> {
    const started = this.opts.now();
    try {
      this.revision = await this.leases.update(this.opts.cluster, this.record(), this.revision);
    } catch (err) {
      // A timeout or "no responders" (a NATS node lost, a bucket electing its leader) says
      // nothing about the key: keep trying on the next tick; `leader` lapses at the TTL.
      if (!isCasConflict(err)) throw err;
      // Refused: someone else took the key, or an earlier renewal that timed out did land.
      // A refusal is evidence against us: step down unless the key is shown to be ours.
      const mine = await this.ownRevision().catch(() => undefined);
      if (mine === undefined) {
        this.setLeader(false);
        throw err;
      }
      this.revision = await this.leases.update(this.opts.cluster, this.record(), mine);
    }
    this.lastRenewOk = started;
  }

  /**
   * Deletes the key at `revision`; if refused there (a renewal that timed out had landed,
   * moving it), at the revision of our own record. Throws when the record is not ours.
   */
  private async deleteOwn(revision: number): Promise<void> {
    try {
      await this.leases.delete(this.opts.cluster, { previousSeq: revision });
    } catch (err) {
      const mine = isCasConflict(err) ? await this.ownRevision() : undefined;
      if (mine === undefined) throw err;
      await this.leases.delete(this.opts.cluster, { previousSeq: mine });
    }
  }

  /** The key's revision when it holds our own record (this holder, this epoch). */
  private async ownRevision(): Promise<number | undefined> {
    const e = await this.leases.get(this.opts.cluster);
    if (e?.operation !== "PUT" || e.value.length === 0) return undefined;
    const record = parseLeaseRecord(e.value); // undefined for a placeholder
    return record?.holder === this.opts.holder && record.epoch === this.epochValue
      ? e.revision
      : undefined;
  }

  private async acquire(): Promise<void> {
    // A leader whose lease lapsed (e.g. it was paused) steps down visibly first.
    if (this.leaderFlag) this.setLeader(false);
    if (!(await this.allowed()) || !(await this.mayCompete())) return;
    const started = this.opts.now();
    let revision: number;
    try {
      revision = await this.leases.create(this.opts.cluster, enc.encode(LEASE_PLACEHOLDER));
    } catch {
      return; // held by someone else (or we lost a race): try again on the next tick
    }
    this.revision = revision;
    try {
      this.epochValue = await this.nextEpoch();
      this.revision = await this.leases.update(this.opts.cluster, this.record(), this.revision);
    } catch (err) {
      // The record may have landed although the write timed out: then the lease is ours.
      const mine = await this.ownRevision().catch(() => undefined);
      if (mine === undefined) {
        // Leave no placeholder behind: it would keep every decider, us included, out for a
        // whole TTL.
        await this.leases.delete(this.opts.cluster, { previousSeq: revision }).catch(() => {});
        throw err;
      }
      this.revision = mine;
    }
    this.lastRenewOk = started;
    this.setLeader(true);
  }

  /** The preferred owner competes; another decider only once the lease was free long enough. */
  private async mayCompete(): Promise<boolean> {
    if (!this.opts.preferred || this.opts.preferred()) {
      this.freeSince = undefined;
      return true;
    }
    const entry = await this.leases.get(this.opts.cluster);
    const now = this.opts.now();
    // Only a real record counts as held. A placeholder ("{}", a decider drawing its epoch)
    // lives milliseconds, or is left by a create that landed but whose reply was lost —
    // which must not keep the grace period from ever running out.
    if (entry?.operation === "PUT" && parseLeaseRecord(entry.value) !== undefined) {
      this.freeSince = undefined;
      return false;
    }
    this.freeSince ??= now;
    return now - this.freeSince >= (this.opts.freeGraceMs ?? 0);
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
        } catch (err) {
          if (!isCasConflict(err)) throw err;
          continue;
        }
      }
      const next = Number(dec.decode(entry.value)) + 1;
      try {
        await this.state.update(key, enc.encode(String(next)), entry.revision);
        return next;
      } catch (err) {
        // Raced with another decider: read again. Anything else (a timeout) is not contention.
        if (!isCasConflict(err)) throw err;
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
