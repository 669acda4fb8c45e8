import { z } from "zod";
import { envelopeOf } from "./envelope.js";
import {
  Address,
  ClusterName,
  ConnectionName,
  Epoch,
  GtidListText,
  Port,
  ServerName,
} from "./names.js";

export const LinkState = z.enum(["replicating", "connecting", "stopped", "broken"]);

/** A replication link as the monitor sees it: replica ← source over a named connection. */
export const ObservedLink = z.strictObject({
  replica: ServerName,
  connection: ConnectionName,
  /** The configured server the link points at; null when host:port matches none. */
  source: ServerName.nullable(),
  sourceAddress: z.strictObject({ host: z.string().max(255), port: z.number().int() }),
  state: LinkState,
  reason: z.string().max(4096).nullable(),
});

/** Topology derived by one monitor from its latest samples. It decides nothing. */
export const ObservedTopology = z.strictObject({
  cluster: ClusterName,
  monitor: z.string().min(1).max(128),
  /** Writable servers that replicate from no one (ideally exactly one). */
  primaries: z.array(ServerName),
  replicas: z.array(ServerName),
  /** Replicas that others replicate from. */
  relays: z.array(ServerName),
  /** Replicas with more than one replication connection. */
  multiSource: z.array(ServerName),
  /** Replicas whose read_only is off. */
  writableReplicas: z.array(ServerName),
  links: z.array(ObservedLink),
  brokenLinks: z.array(ObservedLink),
  unreachable: z.array(ServerName),
  /** Servers that are reachable but neither replicate nor are replicated from, read-only. */
  standalone: z.array(ServerName),
  /** Sources named by a link that are not configured servers. */
  unknownSources: z.array(z.strictObject({ host: z.string().max(255), port: z.number().int() })),
});

export const ServerRole = z.enum([
  "primary",
  "replica",
  "relay",
  "fenced",
  "diverged",
  "maintenance",
  "down",
  "unknown",
]);

/** The authoritative topology the leading decider publishes; what other systems follow. */
export const ClusterTopology = z.strictObject({
  cluster: ClusterName,
  /** Leader epoch of the decider that published it. */
  epoch: Epoch,
  /** Increments on each change. */
  generation: z.number().int().min(0),
  primary: ServerName.nullable(),
  /** Where writers should connect. Null when there is no writable primary. */
  writer: z.strictObject({ server: ServerName, host: Address, port: Port }).nullable(),
  servers: z.array(
    z.strictObject({
      name: ServerName,
      host: Address,
      port: Port,
      role: ServerRole,
      /** The server it replicates from, per connection. */
      sources: z.array(z.strictObject({ connection: ConnectionName, source: ServerName })),
      readOnly: z.boolean().nullable(),
      gtidCurrentPos: GtidListText.nullable(),
      reason: z.string().max(1024).nullable(),
    }),
  ),
  lastOperation: z.string().max(64).nullable(),
  changedAt: z.iso.datetime({ offset: true }),
});

export const ObservedTopologyMessage = envelopeOf("observed-topology", ObservedTopology);
export const TopologyMessage = envelopeOf("topology", ClusterTopology);

export type LinkState = z.infer<typeof LinkState>;
export type ObservedLink = z.infer<typeof ObservedLink>;
export type ObservedTopology = z.infer<typeof ObservedTopology>;
export type ServerRole = z.infer<typeof ServerRole>;
export type ClusterTopology = z.infer<typeof ClusterTopology>;
