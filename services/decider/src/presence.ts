// Which deciders are alive, and which clusters each configures and leads: every decider puts
// its own record into KV bucket `marina_deciders` (TTL = lease) each round and reads the
// others'. NATS 2.9 sends no event when a key expires, and deciders' clocks may disagree, so
// a peer's liveness is judged on this decider's monotonic clock: alive while its record's
// revision moved within the TTL. `aliveForMs` says how long a peer (this incarnation of it)
// has been alive without a break — what a handover waits for, so a flapping decider is not
// handed anything.
// The record and its formats are in presence-record.ts.
import type { DeciderView } from "./assignment.js";
import { FORMATS, type Formats } from "./formats.js";
import type { PresenceBucket } from "./kv.js";
import { type DeciderPresence, encodePresence, parsePresence } from "./presence-record.js";

export { type DeciderPresence, PresenceRecord } from "./presence-record.js";

/** KV keys allow `[-/_=.A-Za-z0-9]` (no leading or trailing dot): escape the rest as `=XX`. */
export function presenceKey(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, (c) => `=${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export interface PresenceOptions {
  readonly id: string;
  readonly incarnation: string;
  readonly clusters: readonly string[];
  /** The bucket's TTL: a peer whose record did not move for this long is gone. */
  readonly ttlMs: number;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  /** The clusters this decider leads now (published in its record). */
  readonly leads: () => string[];
  /**
   * Configured clusters this decider does not offer to lead now (their persisted state is
   * of a format it cannot read): left out of its record, so no one hands them to it.
   */
  readonly declined?: () => readonly string[];
  /** The formats this decider reads (default: this release's), announced to the others. */
  readonly formats?: Formats;
  readonly onInvalid?: (key: string) => void;
}

interface Peer {
  record: DeciderPresence;
  revision: number;
  /** When this decider last saw the revision move. */
  movedAt: number;
  /** Start of the current unbroken alive period of this incarnation. */
  aliveSince: number;
}

export class Presence {
  private readonly peers = new Map<string, Peer>();
  private readonly startedAt: number;
  private readOnce = false;

  constructor(
    private readonly bucket: PresenceBucket,
    private readonly o: PresenceOptions,
  ) {
    this.startedAt = o.now();
  }

  /** True once the others' records were read at least once. */
  get ready(): boolean {
    return this.readOnce;
  }

  /** Announces this decider, then reads every other one's record. */
  async round(): Promise<void> {
    await this.announce();
    await this.read();
  }

  /** Removes this decider's record (a clean stop: the others need not wait for the TTL). */
  async withdraw(): Promise<void> {
    await this.bucket.delete(presenceKey(this.o.id));
  }

  /** This decider and every peer alive now. */
  alive(): DeciderView[] {
    const now = this.o.now();
    const out: DeciderView[] = [{ id: this.o.id, clusters: this.offered() }];
    for (const p of this.peers.values()) {
      if (this.isAlive(p, now)) out.push({ id: p.record.id, clusters: p.record.clusters });
    }
    return out;
  }

  /** How long `id` has been alive without a break; 0 when it is not alive (or unknown). */
  aliveForMs(id: string): number {
    const now = this.o.now();
    if (id === this.o.id) return now - this.startedAt;
    const p = this.peers.get(id);
    return p && this.isAlive(p, now) ? now - p.aliveSince : 0;
  }

  /** The records last read of the live peers (status, logs). */
  peerRecords(): DeciderPresence[] {
    const now = this.o.now();
    return [...this.peers.values()].filter((p) => this.isAlive(p, now)).map((p) => p.record);
  }

  /** The formats the live peers read. */
  peerFormats(): Formats[] {
    return this.peerRecords().map((r) => r.formats);
  }

  private offered(): string[] {
    const declined = this.o.declined?.() ?? [];
    return this.o.clusters.filter((c) => !declined.includes(c));
  }

  private isAlive(p: Peer, now: number): boolean {
    return now - p.movedAt < this.o.ttlMs;
  }

  private async announce(): Promise<void> {
    const formats = this.o.formats ?? FORMATS;
    const record: DeciderPresence = {
      version: formats.presence,
      id: this.o.id,
      incarnation: this.o.incarnation,
      clusters: this.offered(),
      leads: this.o.leads(),
      renewedAt: new Date().toISOString(),
      formats,
    };
    await this.bucket.put(presenceKey(this.o.id), encodePresence(record, formats.presence));
  }

  private async read(): Promise<void> {
    const own = presenceKey(this.o.id);
    const keys = (await this.bucket.keys()).filter((k) => k !== own);
    const seen = new Set<string>();
    for (const key of keys) {
      const entry = await this.bucket.get(key);
      if (entry?.operation !== "PUT") continue;
      const record = parsePresence(entry.value);
      if (!record || presenceKey(record.id) !== key) {
        this.o.onInvalid?.(key);
        continue;
      }
      seen.add(record.id);
      this.track(record, entry.revision);
    }
    for (const id of this.peers.keys()) if (!seen.has(id)) this.peers.delete(id);
    this.readOnce = true;
  }

  private track(record: DeciderPresence, revision: number): void {
    const now = this.o.now();
    const p = this.peers.get(record.id);
    if (!p || p.record.incarnation !== record.incarnation) {
      // First sight: it may have written long ago, but counting it alive for one TTL more
      // only delays taking its clusters, never leads to two leaders (the lease decides).
      this.peers.set(record.id, { record, revision, movedAt: now, aliveSince: now });
      return;
    }
    if (revision === p.revision) return;
    if (!this.isAlive(p, now)) p.aliveSince = now; // back after a pause: a new alive period
    p.record = record;
    p.revision = revision;
    p.movedAt = now;
  }
}
