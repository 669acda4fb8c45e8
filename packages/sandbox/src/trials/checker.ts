// The fault trials' checker (issue 13): what the writers were told against what the final
// primary holds — pure, so it is table-tested and cannot be argued with.
//
// - lost: acknowledged ids missing on the final primary;
// - unexpected: ids present that no writer attempted (an id whose outcome the client never
//   learnt may be present or absent: both are fine);
// - dualAck: writes acknowledged by two different servers in overlapping time after the
//   fault — split brain as clients saw it. For every pair of servers that acknowledged
//   writes after the fault, the overlap of their [first, last] acknowledgement windows is
//   taken; every acknowledgement inside an overlap counts.

export interface Ack {
  readonly id: number;
  /** performance.now() when the client got the acknowledgement. */
  readonly at: number;
  /** The server that acknowledged it. */
  readonly server: string;
}

export interface WriterRecord {
  readonly name: string;
  readonly acks: readonly Ack[];
  /** Every id this writer sent (acknowledged, failed or in doubt). */
  readonly attempted: readonly number[];
}

export interface CheckInput {
  readonly writers: readonly WriterRecord[];
  /** Ids present on the final primary. */
  readonly present: readonly number[];
  /** performance.now() when the fault was injected. */
  readonly faultAt: number;
}

export interface CheckResult {
  readonly acked: number;
  readonly lost: readonly number[];
  readonly unexpected: readonly number[];
  /** Acknowledgements that overlap another server's after the fault (ids). */
  readonly dualAck: readonly number[];
}

export function checkTrial(input: CheckInput): CheckResult {
  const present = new Set(input.present);
  const attempted = new Set(input.writers.flatMap((w) => w.attempted));
  const acks = input.writers.flatMap((w) => w.acks);
  const lost = acks.filter((a) => !present.has(a.id)).map((a) => a.id);
  const unexpected = [...present].filter((id) => !attempted.has(id));

  const after = acks.filter((a) => a.at >= input.faultAt);
  const windows = new Map<string, { from: number; to: number }>();
  for (const a of after) {
    const w = windows.get(a.server);
    if (!w) windows.set(a.server, { from: a.at, to: a.at });
    else windows.set(a.server, { from: Math.min(w.from, a.at), to: Math.max(w.to, a.at) });
  }
  const servers = [...windows.keys()].sort();
  const overlaps: Array<{ from: number; to: number; servers: [string, string] }> = [];
  for (let i = 0; i < servers.length; i++) {
    for (let j = i + 1; j < servers.length; j++) {
      const a = windows.get(servers[i]!)!;
      const b = windows.get(servers[j]!)!;
      const from = Math.max(a.from, b.from);
      const to = Math.min(a.to, b.to);
      if (from <= to) overlaps.push({ from, to, servers: [servers[i]!, servers[j]!] });
    }
  }
  const dual = after.filter((a) =>
    overlaps.some((o) => o.servers.includes(a.server) && a.at >= o.from && a.at <= o.to),
  );
  return {
    acked: acks.length,
    lost: [...new Set(lost)].sort((x, y) => x - y),
    unexpected: unexpected.sort((x, y) => x - y),
    dualAck: [...new Set(dual.map((a) => a.id))].sort((x, y) => x - y),
  };
}
