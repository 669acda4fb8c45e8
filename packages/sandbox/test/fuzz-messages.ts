// fast-check generators of hostile messages for the services' request subjects. Each
// generated message starts from a valid, dangerous request (a forced failover, read_only=0
// on a replica, stop a server) and is broken by one to three mutations: wrong types,
// missing and extra fields, huge and deeply nested values, unicode, `__proto__` keys,
// shell and SQL metacharacters. A message is kept only when its schema refuses it, so
// every message here must be refused: whatever a service does with it beyond a structured
// error is a bug.
import {
  AgentRequestMessage,
  CommandMessages,
  CommandPayloads,
  type CommandVerb,
  CommandVerbs,
  ExecRequestMessage,
  envelope,
  SAFE_NAME,
  subjects,
} from "@marina/contracts";
import fc from "fast-check";

export type Family = "command" | "exec" | "agent";

/** One message to send: where, what, and which service family answers. */
export interface Probe {
  family: Family;
  subject: string;
  body: string | Uint8Array;
}

type Obj = Record<string, unknown>;

/** Sets a key as an own property, even `__proto__` (which `o[k] = v` would not). */
function withKey(o: Obj, key: string, value: unknown): Obj {
  const copy = { ...o };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** Strings that are never a valid name (SAFE_NAME). */
const NASTY = [
  "; rm -rf /",
  "' OR 1=1 --",
  "`reboot`",
  "$(touch /tmp/marina-pwned)",
  "db1'; DROP TABLE mysql.user; --",
  "../../etc/passwd",
  "db1\u0000",
  "дб1",
  "db1.>",
  "*",
  "",
  " db1",
  "db1\n",
  "💥",
  "\u202edb1",
  "x".repeat(64),
];
export const badName = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => !SAFE_NAME.test(s)),
);

export const badKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty"),
  badName,
  fc.string({ unit: "grapheme", maxLength: 20 }),
  // Error messages quote unknown keys: these would not fit in a reply unclipped.
  fc.integer({ min: 5_000, max: 20_000 }).map((n) => "k".repeat(n)),
);

/** Nested arrays and objects, `depth` levels down. */
function nested(depth: number): unknown {
  let v: unknown = "bottom";
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { d: v };
  return v;
}

export const badValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 2, 1.5, 2 ** 53 + 2, "", [], {}),
  badName,
  fc.integer(),
  fc.double(),
  fc.array(fc.oneof(fc.integer(), badName), { maxLength: 4 }),
  fc.tuple(badKey, fc.integer()).map(([k, v]) => withKey({}, k, v)),
  fc.integer({ min: 100, max: 3_000 }).map(nested),
  fc.integer({ min: 10_000, max: 200_000 }).map((n) => "A".repeat(n)),
  fc.constant(
    JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
  ),
);

type Mutation = (o: Obj) => Obj;

const setKey =
  ([k, v]: [string, unknown]) =>
  (o: Obj) =>
    withKey(o, k, v);
const dropKey = (k: string) => (o: Obj) => {
  const { [k]: _gone, ...rest } = o;
  return rest;
};

/** One change to an object: a known key set to junk or removed, or a junk key added. */
function mutation(keys: readonly string[]): fc.Arbitrary<Mutation> {
  const added = fc.tuple(badKey, badValue).map(setKey);
  if (keys.length === 0) return added;
  const known = fc.constantFrom(...keys);
  return fc.oneof(fc.tuple(known, badValue).map(setKey), known.map(dropKey), added);
}

const mutations = (keys: readonly string[]) =>
  fc.array(mutation(keys), { minLength: 1, maxLength: 3 });
const apply = (o: Obj, ms: Mutation[]) => ms.reduce((acc, m) => m(acc), o);
const ENVELOPE_KEYS = ["type", "version", "id", "time", "source", "payload"] as const;
const toJson = (v: unknown) => JSON.stringify(v) ?? "null";

/**
 * A broken message around `payload`: the envelope, the payload, or an object nested in it
 * (`inner`, e.g. the exec step) mutated — or the whole body replaced by junk.
 */
function broken(type: string, payload: Obj, inner?: string): fc.Arbitrary<unknown> {
  const env = envelope(type, "fuzz", payload) as unknown as Obj;
  const innerObj = inner ? (payload[inner] as Obj) : undefined;
  const variants: fc.Arbitrary<unknown>[] = [
    mutations(ENVELOPE_KEYS).map((ms) => apply(env, ms)),
    mutations(Object.keys(payload)).map((ms) => ({ ...env, payload: apply(payload, ms) })),
    badValue,
  ];
  if (inner && innerObj) {
    variants.push(
      mutations(Object.keys(innerObj)).map((ms) => ({
        ...env,
        payload: { ...payload, [inner]: apply(innerObj, ms) },
      })),
    );
  }
  return fc.oneof(...variants);
}

/** Valid payloads of commands that act: broken, each must do nothing. */
const COMMANDS: Record<CommandVerb, Obj> = {
  failover: { target: "db2", force: true },
  switchover: { target: "db2" },
  rejoin: { server: "db2" },
  rebuild: { target: "db3", source: "db2" },
  flashback: { server: "db1" },
  "set-maintenance": { server: "db2" },
  "clear-maintenance": { server: "db2" },
  "reset-failover-limits": {},
  cancel: { opId: "op-x" },
  status: {},
  pause: { reason: "fuzz", requestedBy: "fuzz@host" },
  resume: { reason: "fuzz" },
  "provision-replica": { target: "db3", sources: [{ cluster: "main", databases: ["app"] }] },
  backup: { server: "db3" },
  backups: { server: "db3" },
  "restore-backup": { server: "db3", backup: "20261205T154210Z" },
  "prune-backups": { server: "db3", keep: 1, olderThanDays: 30 },
};

/** Refused whichever way it is read: as an envelope and as a bare payload. */
export function isBadCommand(verb: CommandVerb, body: unknown): boolean {
  return (
    !CommandMessages[verb].safeParse(body).success && !CommandPayloads[verb].safeParse(body).success
  );
}

export const badCommand: fc.Arbitrary<Probe> = fc.constantFrom(...CommandVerbs).chain((verb) => {
  const payload = COMMANDS[verb];
  return fc
    .oneof(
      broken(`cmd.${verb}`, payload),
      mutations(Object.keys(payload).concat("target", "reason")).map((ms) => apply(payload, ms)),
    )
    .filter((body) => isBadCommand(verb, body))
    .map((body) => ({
      family: "command" as const,
      subject: subjects.cmd("main", verb),
      body: toJson(body),
    }));
});

/** Steps that would change a server if they ran (epoch 0: refused as stale even then). */
const STEPS: Obj[] = [
  { kind: "set-read-only", readOnly: false },
  { kind: "reset-replication", connection: "" },
  { kind: "change-master", connection: "", source: "db3", useGtid: "slave_pos" },
  { kind: "stop-replication", connection: "" },
  { kind: "set-gtid-slave-pos", pos: "0-1-1" },
];

export const badExec: fc.Arbitrary<Probe> = fc
  .tuple(fc.constantFrom(...STEPS), fc.constantFrom("db1", "db2", "db3"))
  .chain(([step, server]) =>
    broken(
      "exec-request",
      { cluster: "main", server, opId: "op-fuzz", stepId: "fuzz-1", epoch: 0, step },
      "step",
    ),
  )
  .filter((body) => !ExecRequestMessage.safeParse(body).success)
  .map((body) => ({ family: "exec" as const, subject: subjects.exec("main"), body: toJson(body) }));

const ACTIONS: Obj[] = [
  { action: "status" },
  { action: "stop-server", server: "db2" },
  { action: "start-server", server: "db2" },
  { action: "send-backup", server: "db2", to: { address: "127.0.0.1", port: 9 } },
  { action: "receive-backup", server: "db3" },
  { action: "cancel", opId: "op-x" },
];

/** Requests on `marina.v1.agent.<host>.<action>`, the host being one of `hosts`. */
export function badAgentRequest(hosts: readonly string[]): fc.Arbitrary<Probe> {
  return fc.tuple(fc.constantFrom(...ACTIONS), fc.constantFrom(...hosts)).chain(([request, host]) =>
    broken("agent-request", { host, opId: "op-fuzz", epoch: 0, request }, "request")
      .filter((body) => !AgentRequestMessage.safeParse(body).success)
      .map((body) => ({
        family: "agent" as const,
        subject: subjects.agent(host, request.action as "status"),
        body: toJson(body),
      })),
  );
}
