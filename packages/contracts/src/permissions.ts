// What each NATS identity may publish and subscribe to: least privilege, derived from the
// subjects and resources Marina's services use (subjects.ts, resources.ts), so the two
// cannot drift apart. The lab writes these into its nats-server configs and every test runs
// its services under them; `marina-nats-config` renders them for a production cluster.
//
// Each identity has its own inbox prefix: nobody can read another identity's replies, and
// nobody can publish to another's inbox (so no forged replies). Executors send step
// heartbeats to a beat inbox of its own (BEAT_INBOX_PREFIX), not to the decider's replies.
//
// JetStream: nats-server 2.9 lets whoever may create a push consumer deliver a stream's
// messages to ANY subject (nats-io/nats-server#8274), i.e. replay them onto Marina's own
// subjects. So only identities already trusted with the databases (deciders, executors,
// agents) and operators may create consumers; observers read the last topology by subject
// (a direct get), which delivers to their inbox only.
import { BUCKETS, STREAMS } from "./resources.js";
import { AgentActionNames, ROOT } from "./subjects.js";

export const NATS_ROLES = [
  "monitor",
  "decider",
  "executor",
  "agent",
  "operator",
  "observer",
  "veto-responder",
] as const;
export type NatsRole = (typeof NATS_ROLES)[number];

/**
 * The inbox prefix of a role's connections (an agent's: of its host). Operators keep NATS's
 * default, so that any NATS tool works for them without flags.
 */
export function inboxPrefix(role: NatsRole, host?: string): string {
  if (role === "operator") return "_INBOX";
  // Agents: one per host, none reading another host's replies.
  if (role === "agent") return `_INBOX_marina_agent.${host ?? "_"}`;
  // An inbox subject's first token has no "-" (isInboxSubject).
  return `_INBOX_marina_${role.replaceAll("-", "_")}`;
}

/**
 * A reply subject a Marina responder answers on: an inbox (`_INBOX.x`, `_INBOX_marina_<role>.x`).
 * NATS lets a requester name ANY reply subject, and a decider answering a command may
 * publish where its own permissions allow (the lease and state buckets included): a
 * command whose reply subject is, say, `$KV.marina_state.main.epoch` would have the decider
 * overwrite its own state. So responders answer inboxes only.
 */
export function isInboxSubject(subject: string | undefined): boolean {
  return subject !== undefined && /^_INBOX[A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)+$/.test(subject);
}

/**
 * Where executors send step heartbeats (ExecRequest.beatTo): a prefix of its own, so the
 * one thing executors may publish to deciders is beats — not replies to the deciders'
 * JetStream or agent requests, which go to `_INBOX_marina_decider`.
 */
export const BEAT_INBOX_PREFIX = "_INBOX_marina_beat";

export interface NatsPermissions {
  readonly publish: { readonly allow: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[] };
  /** May publish replies to the requests it receives (responders). */
  readonly allow_responses?: boolean;
}

export interface IdentityScope {
  /** Clusters this identity serves (monitor, decider, executor); default all (`*`). */
  readonly clusters?: readonly string[];
  /** Agent hosts this identity serves (agent); required for an agent. */
  readonly hosts?: readonly string[];
}

const JS = "$JS.API";
const kvStream = (bucket: string) => `KV_${bucket}`;

/** Stream info and reading one message (by sequence or last by subject). */
function streamRead(stream: string): string[] {
  return [
    `${JS}.STREAM.INFO.${stream}`,
    `${JS}.STREAM.MSG.GET.${stream}`,
    `${JS}.DIRECT.GET.${stream}`,
    `${JS}.DIRECT.GET.${stream}.>`,
  ];
}

/** Consumers (a KV watch, `keys()`, a history read): see the header for why it is trusted. */
function streamConsume(stream: string): string[] {
  return [
    `${JS}.CONSUMER.CREATE.${stream}`,
    `${JS}.CONSUMER.CREATE.${stream}.>`,
    `${JS}.CONSUMER.INFO.${stream}.*`,
    `${JS}.CONSUMER.DELETE.${stream}.*`,
    `${JS}.CONSUMER.MSG.NEXT.${stream}.*`,
    `$JS.ACK.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
}

function streamManage(stream: string): string[] {
  return [`${JS}.STREAM.CREATE.${stream}`, `${JS}.STREAM.UPDATE.${stream}`];
}

/** Create, read, watch and write a KV bucket. */
function bucketOwn(bucket: string): string[] {
  const s = kvStream(bucket);
  return [...streamManage(s), ...streamRead(s), ...streamConsume(s), `$KV.${bucket}.>`];
}

/** Read and watch a KV bucket. */
function bucketRead(bucket: string): string[] {
  const s = kvStream(bucket);
  return [...streamRead(s), ...streamConsume(s)];
}

function perCluster(scope: IdentityScope, f: (c: string) => string[]): string[] {
  const clusters = scope.clusters && scope.clusters.length > 0 ? scope.clusters : ["*"];
  return clusters.flatMap(f);
}

const inbox = (role: NatsRole) => `${inboxPrefix(role)}.>`;

/** The permissions of `role` within `scope`. */
export function natsPermissions(role: NatsRole, scope: IdentityScope = {}): NatsPermissions {
  switch (role) {
    case "monitor":
      return {
        publish: {
          allow: [
            ...perCluster(scope, (c) => [`${ROOT}.${c}.health.*`, `${ROOT}.${c}.observed`]),
            `${JS}.INFO`,
            ...streamManage(STREAMS.health.name),
            ...streamRead(STREAMS.health.name),
          ],
        },
        subscribe: { allow: [inbox(role)] },
      };
    case "decider":
      return {
        publish: {
          allow: [
            ...perCluster(scope, (c) => [
              `${ROOT}.${c}.topology`,
              `${ROOT}.${c}.events`,
              `${ROOT}.${c}.op.*`,
              `${ROOT}.${c}.history.*`,
              `${ROOT}.${c}.exec`,
              `${ROOT}.${c}.leader.cmd.*`,
            ]),
            ...AgentActionNames.map((a) => `${ROOT}.agent.*.${a}`),
            `${JS}.INFO`,
            ...streamManage(STREAMS.events.name),
            ...streamRead(STREAMS.events.name),
            // The HTTP API's events, SSE stream and history lists (ordered consumers).
            ...streamConsume(STREAMS.events.name),
            ...streamManage(STREAMS.history.name),
            ...streamRead(STREAMS.history.name),
            ...streamConsume(STREAMS.history.name),
            ...bucketOwn(BUCKETS.leader),
            ...bucketOwn(BUCKETS.state),
            ...bucketOwn(BUCKETS.deciders),
          ],
        },
        subscribe: {
          allow: [
            ...perCluster(scope, (c) => [
              `${ROOT}.${c}.health.*`,
              `${ROOT}.${c}.observed`,
              `${ROOT}.${c}.cmd.*`,
              `${ROOT}.${c}.leader.cmd.*`,
            ]),
            `${ROOT}.agent.*.heartbeat`,
            `${ROOT}.agent.*.progress`,
            `${ROOT}.agent.*.done`,
            inbox(role),
            `${BEAT_INBOX_PREFIX}.>`,
          ],
        },
        allow_responses: true,
      };
    case "executor":
      return {
        publish: {
          // Step heartbeats go to the beat inbox the decider names in the request.
          allow: [
            `${BEAT_INBOX_PREFIX}.>`,
            // The veto requests of the ask-veto step (hooks.ts).
            ...perCluster(scope, (c) => [`${ROOT}.${c}.veto.*`]),
            `${JS}.INFO`,
            ...bucketRead(BUCKETS.leader),
          ],
        },
        subscribe: { allow: [...perCluster(scope, (c) => [`${ROOT}.${c}.exec`]), inbox(role)] },
        allow_responses: true,
      };
    case "agent": {
      const hosts = scope.hosts ?? [];
      if (hosts.length === 0) throw new Error("an agent identity needs the hosts it serves");
      return {
        publish: {
          allow: [
            ...hosts.flatMap((h) =>
              ["heartbeat", "progress", "done"].map((k) => `${ROOT}.agent.${h}.${k}`),
            ),
            `${JS}.INFO`,
            ...bucketRead(BUCKETS.leader),
            // The self-fence reads its clusters' last topology (the candidates).
            ...streamRead(STREAMS.events.name),
          ],
        },
        subscribe: {
          allow: [
            ...hosts.flatMap((h) => AgentActionNames.map((a) => `${ROOT}.agent.${h}.${a}`)),
            ...hosts.map((h) => `${inboxPrefix("agent", h)}.>`),
            // The self-fence's candidates, as the leader publishes them.
            ...perCluster(scope, (c) => [`${ROOT}.${c}.topology`]),
          ],
        },
        allow_responses: true,
      };
    }
    case "operator":
      return {
        publish: {
          allow: [
            ...perCluster(scope, (c) => [`${ROOT}.${c}.cmd.*`]),
            `${JS}.INFO`,
            `${JS}.STREAM.NAMES`,
            `${JS}.STREAM.LIST`,
            ...[STREAMS.events.name, STREAMS.health.name, STREAMS.history.name].flatMap((s) => [
              ...streamRead(s),
              ...streamConsume(s),
            ]),
            ...Object.values(BUCKETS).flatMap(bucketRead),
          ],
        },
        subscribe: { allow: [`${ROOT}.>`, inbox(role)] },
      };
    case "observer":
      return {
        publish: {
          allow: [
            `${JS}.INFO`,
            ...streamRead(STREAMS.events.name),
            ...streamRead(STREAMS.history.name),
          ],
        },
        subscribe: {
          allow: [
            ...perCluster(scope, (c) => [
              `${ROOT}.${c}.topology`,
              `${ROOT}.${c}.events`,
              `${ROOT}.${c}.op.*`,
              `${ROOT}.${c}.history.*`,
            ]),
            inbox(role),
          ],
        },
        // No allow_responses: an observer sees requests of others (the decider's JetStream
        // publishes on history.*, whose acks it could forge); vetoes are veto-responder's.
      };
    case "veto-responder":
      return {
        // Nothing but its replies (allow_responses) to the veto requests it receives, the
        // only requests it sees: giving a system this identity gives it veto power.
        publish: { allow: [] },
        subscribe: {
          allow: [...perCluster(scope, (c) => [`${ROOT}.${c}.veto.*`]), inbox(role)],
        },
        allow_responses: true,
      };
  }
}

/** One user of the nats-server config. */
export interface NatsIdentity {
  readonly user: string;
  /**
   * The password as it goes into the server config: a literal, or `$VAR` to take it from
   * the nats-server's environment (nats-server resolves `$VAR` references itself).
   */
  readonly password: string;
  /** undefined: no restriction (a lab's or an administrator's own user). */
  readonly permissions?: NatsPermissions | undefined;
}

const q = (s: string) => JSON.stringify(s);

function renderPermissions(p: NatsPermissions, indent: string): string[] {
  const list = (xs: readonly string[]) => `[${xs.map(q).join(", ")}]`;
  return [
    `${indent}permissions: {`,
    `${indent}  publish: { allow: ${list(p.publish.allow)} }`,
    `${indent}  subscribe: { allow: ${list(p.subscribe.allow)} }`,
    ...(p.allow_responses ? [`${indent}  allow_responses: true`] : []),
    `${indent}}`,
  ];
}

/**
 * The `authorization { … }` block of a nats-server config for these users. `noAuthUser`:
 * a client that sends no credentials is that user (the lab's convenience; never in
 * production, where such a client is refused).
 */
export function renderAuthorization(
  users: readonly NatsIdentity[],
  o: { noAuthUser?: string } = {},
): string {
  const passwordLine = (p: string) =>
    /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `password: ${p}` : `password: ${q(p)}`;
  const lines = ["authorization {", "  users: ["];
  for (const u of users) {
    lines.push("    {", `      user: ${q(u.user)}`, `      ${passwordLine(u.password)}`);
    if (u.permissions) lines.push(...renderPermissions(u.permissions, "      "));
    lines.push("    }");
  }
  lines.push("  ]", "}");
  if (o.noAuthUser !== undefined) lines.push(`no_auth_user: ${q(o.noAuthUser)}`);
  return `${lines.join("\n")}\n`;
}

/** PEM files of a nats-server's certificate, key and CA. */
export interface NatsServerTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/**
 * A nats-server `tls { … }` block: at the top level it makes TLS required of every client;
 * inside `cluster {}` with `verify` the routes check each other's certificates.
 */
export function renderNatsTls(tls: NatsServerTls, indent: string, verify: boolean): string[] {
  return [
    `${indent}tls {`,
    `${indent}  cert_file: ${q(tls.cert)}`,
    `${indent}  key_file: ${q(tls.key)}`,
    `${indent}  ca_file: ${q(tls.ca)}`,
    ...(verify ? [`${indent}  verify: true`] : []),
    `${indent}}`,
  ];
}
