// The format versions of the records the decider persists in KV, and the rules between
// releases (docs/operations.md, "Rolling upgrades"):
// - every record says its format in `version`; a record without one is format 1 (written
//   before formats were versioned);
// - a reader accepts every format from the oldest it knows up to its own and migrates it to
//   its own (state-format.ts, presence-record.ts, @marina/lease-fence's migrateLease);
// - the decider state (`marina_state`): a decider never writes over a state of a format it
//   cannot read (it refuses to lead the cluster, UNSUPPORTED_FORMAT), and it writes the
//   newest format every live decider reads (their presence records say which), so an older
//   release that takes over can read it;
// - the lease and the presence records: readers accept newer formats, whose fields keep
//   their meaning (a newer format only adds fields), so they are written in the current one.
// The epoch counter (`marina_state`, key `<cluster>.epoch`) is a bare decimal integer in
// every release.
import { MarinaError } from "@marina/contracts";
import { STATE_FORMAT } from "@marina/decider-core";
import { LEASE_FORMAT } from "@marina/lease-fence";

/** A format version per persisted record. */
export interface Formats {
  readonly state: number;
  readonly lease: number;
  readonly presence: number;
}

/** The formats this release reads and writes. */
export const FORMATS: Formats = { state: STATE_FORMAT, lease: LEASE_FORMAT, presence: 2 };

/** The oldest format of each record this release reads and can write. */
export const OLDEST_FORMATS: Formats = { state: 1, lease: 1, presence: 1 };

const KINDS = ["state", "lease", "presence"] as const;

/**
 * This release's formats, lowered where `lower` says: a decider that reads and writes
 * older formats behaves, for what it persists, like the release that wrote them (tests of
 * mixed releases). Throws for a format this release cannot write.
 */
export function formatsOf(lower: Partial<Formats> = {}): Formats {
  const out = { ...FORMATS };
  for (const kind of KINDS) {
    const f = lower[kind];
    if (f === undefined) continue;
    checkFormat(kind, f);
    out[kind] = f;
  }
  return out;
}

/** Throws unless `format` is one this release reads and writes for `kind`. */
export function checkFormat(kind: keyof Formats, format: number): void {
  if (!Number.isInteger(format) || format < OLDEST_FORMATS[kind] || format > FORMATS[kind]) {
    throw new RangeError(
      `${kind} format ${format}: this release writes ${OLDEST_FORMATS[kind]} to ${FORMATS[kind]}`,
    );
  }
}

export interface StateFormatChoice {
  /** The newest state format this decider reads. */
  readonly reads: number;
  /** An operator's cap (a rollback to a release that reads only this one). */
  readonly cap?: number | undefined;
  /** The newest state format of each live peer; undefined: not known yet. */
  readonly peers: readonly number[] | undefined;
  /**
   * The oldest format that holds everything the state says (stateFormatNeeded: a paused
   * cluster needs the format that has the pause). Peers that read less do not lower the
   * format below it — they cannot read the state then, and stay away from the cluster
   * rather than act against what it says; the operator's cap still does.
   */
  readonly needs?: number;
}

/**
 * The state format to write: the newest one this decider and every live peer read, at most
 * `cap`, never older than the oldest this release writes. While the peers are not known yet,
 * the oldest: any release since formats were versioned reads it.
 */
export function stateWriteFormat(o: StateFormatChoice): number {
  const needs = o.needs ?? OLDEST_FORMATS.state;
  const byPeers = o.peers === undefined ? OLDEST_FORMATS.state : Math.min(...o.peers, o.reads);
  // A release that reads only format 1 does not refuse a newer state: it overwrites it. For
  // it the state stays in format 1 (and the pause is kept by the leader's memory only).
  const refusing = o.peers === undefined || byPeers >= FIRST_REFUSING_STATE_FORMAT;
  const wanted = refusing ? Math.max(needs, byPeers) : byPeers;
  const newest = Math.min(o.reads, o.cap ?? o.reads, wanted);
  return Math.max(OLDEST_FORMATS.state, newest);
}

/** The first state format whose release refuses (never overwrites) a state it cannot read. */
export const FIRST_REFUSING_STATE_FORMAT = 2;

/**
 * A persisted record of a format this decider cannot read: written by a newer release (or
 * older than the oldest it reads). It is left as it is, never overwritten.
 */
export class UnsupportedFormatError extends MarinaError {
  override readonly name = "UnsupportedFormatError";
  constructor(
    /** What the record is (`decider state of main`). */
    readonly record: string,
    /** Its format. */
    readonly format: number,
    /** The formats this decider reads. */
    readonly reads: { readonly oldest: number; readonly newest: number },
  ) {
    super(
      "UNSUPPORTED_FORMAT",
      `the ${record} is of format ${format}; this decider reads formats ${reads.oldest} to ${reads.newest}`,
    );
  }
}
