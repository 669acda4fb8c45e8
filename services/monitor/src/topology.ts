// The topology one monitor observes, derived purely from its latest sample per server and
// the configured server list. It names what it sees; it decides nothing.
import type {
  HealthSample,
  LinkState,
  ObservedLink,
  ObservedTopology,
  ReplicationConnection,
} from "@marina/contracts";

export interface ConfiguredServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Where replicas reach it (`replicationAddress` in the config), when not host/port. */
  readonly replicationAddress?: { readonly host: string; readonly port: number } | undefined;
}

export interface TopologyInput {
  readonly cluster: string;
  readonly monitor: string;
  /** In configuration order; every list in the result keeps this order. */
  readonly servers: readonly ConfiguredServer[];
  /** Latest sample per server name; servers without one are left out of every list. */
  readonly samples: ReadonlyMap<string, HealthSample>;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "0:0:0:0:0:0:0:1"]);

function normalHost(host: string): string {
  const h = host.trim().toLowerCase();
  return LOOPBACK.has(h) ? "127.0.0.1" : h;
}

/**
 * The configured server a replica's Master_Host:Master_Port points at. Names are compared
 * as text (case-insensitive, loopback spellings equal); no DNS lookups, to stay pure.
 */
export function resolveSource(
  servers: readonly ConfiguredServer[],
  host: string,
  port: number,
): string | null {
  const h = normalHost(host);
  const at = (a: { host: string; port: number }) => a.port === port && normalHost(a.host) === h;
  const byReplication = servers.find((s) => s.replicationAddress && at(s.replicationAddress));
  return (byReplication ?? servers.find(at))?.name ?? null;
}

/**
 * State of one replication connection:
 * broken     - a thread stopped on an error (SQL error, or IO error it will not retry);
 * stopped    - a thread is stopped without an error (STOP SLAVE);
 * connecting - the IO thread is (re)connecting; the SQL thread still runs;
 * replicating - both threads run.
 */
export function linkState(c: ReplicationConnection): { state: LinkState; reason: string | null } {
  const sqlFailed = !c.sqlThread && c.lastSqlErrno !== 0;
  const ioFailed = c.ioThread === "No" && c.lastIoErrno !== 0;
  if (sqlFailed)
    return { state: "broken", reason: `SQL error ${c.lastSqlErrno}: ${c.lastSqlError}` };
  if (ioFailed) return { state: "broken", reason: `IO error ${c.lastIoErrno}: ${c.lastIoError}` };
  if (c.ioThread === "No" || !c.sqlThread) {
    const which = [c.ioThread === "No" ? "IO" : null, c.sqlThread ? null : "SQL"].filter(Boolean);
    return { state: "stopped", reason: `${which.join(" and ")} thread stopped` };
  }
  if (c.ioThread === "Connecting" || c.ioThread === "Preparing") {
    const why = c.lastIoErrno !== 0 ? `IO error ${c.lastIoErrno}: ${c.lastIoError}` : c.ioState;
    return { state: "connecting", reason: why === "" ? null : why };
  }
  return { state: "replicating", reason: null };
}

export function deriveTopology(input: TopologyInput): ObservedTopology {
  const { servers, samples } = input;
  const links: ObservedLink[] = [];
  const unreachable: string[] = [];
  const reachable: { name: string; readOnly: boolean; active: number }[] = [];

  for (const s of servers) {
    const sample = samples.get(s.name);
    if (!sample) continue;
    if (!sample.reachable || !sample.observation) {
      unreachable.push(s.name);
      continue;
    }
    let active = 0;
    for (const c of sample.observation.replication) {
      const { state, reason } = linkState(c);
      if (state !== "stopped") active++;
      links.push({
        replica: s.name,
        connection: c.connection,
        source: resolveSource(servers, c.masterHost, c.masterPort),
        sourceAddress: { host: c.masterHost, port: c.masterPort },
        state,
        reason: reason === null ? null : reason.slice(0, 4096),
      });
    }
    reachable.push({ name: s.name, readOnly: sample.observation.readOnly, active });
  }

  // A stopped link (STOP SLAVE without error) does not make its server a replica, nor its
  // source a relay: nothing flows over it.
  const activeLinks = links.filter((l) => l.state !== "stopped");
  const isSource = new Set(activeLinks.map((l) => l.source).filter((x): x is string => x !== null));
  const replicas = reachable.filter((r) => r.active > 0);
  const unknown = new Map<string, { host: string; port: number }>();
  for (const l of links) {
    if (l.source === null)
      unknown.set(`${l.sourceAddress.host}:${l.sourceAddress.port}`, l.sourceAddress);
  }

  return {
    cluster: input.cluster,
    monitor: input.monitor,
    primaries: reachable.filter((r) => r.active === 0 && !r.readOnly).map((r) => r.name),
    replicas: replicas.map((r) => r.name),
    relays: replicas.filter((r) => isSource.has(r.name)).map((r) => r.name),
    multiSource: replicas.filter((r) => r.active > 1).map((r) => r.name),
    writableReplicas: replicas.filter((r) => !r.readOnly).map((r) => r.name),
    links,
    brokenLinks: links.filter((l) => l.state === "broken"),
    unreachable,
    standalone: reachable
      .filter((r) => r.active === 0 && r.readOnly && !isSource.has(r.name))
      .map((r) => r.name),
    unknownSources: [...unknown.values()],
  };
}

/** Structural equality; the topology has no timestamps, so JSON text compares it. */
export function sameTopology(a: ObservedTopology | undefined, b: ObservedTopology): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
