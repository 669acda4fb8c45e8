import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  AgentHeartbeatMessage,
  AgentRequestMessage,
  AgentResultMessage,
  ClusterEventMessage,
  CommandReplyMessage,
  ExecRequestMessage,
  ExecResultMessage,
  HealthMessage,
  ObservedTopologyMessage,
  OperationMessage,
  TopologyMessage,
} from "../src/index.js";
import { renderJsonSchemas } from "../src/json-schema.js";
import { check, parseCommand, parseMessage } from "../src/parse.js";
import * as ex from "./examples.js";

type Mutation = [label: string, mutate: (m: Record<string, unknown>) => void, path: string];

function clone<T>(v: T): T {
  return structuredClone(v);
}
// biome-ignore lint/suspicious/noExplicitAny: test helper pokes into arbitrary example shapes
const p = (m: Record<string, unknown>) => m.payload as any;

const cases: [string, z.ZodType, string, unknown, Mutation[]][] = [
  [
    "health",
    HealthMessage,
    "health",
    ex.health,
    [
      ["bad server name", (m) => (p(m).server = "db.1"), "payload.server"],
      [
        "bad gtid",
        (m) => (p(m).observation.gtidBinlogPos = "0-1"),
        "payload.observation.gtidBinlogPos",
      ],
      [
        "bad io state",
        (m) => (p(m).observation.replication[0].ioThread = "Maybe"),
        "payload.observation.replication.0.ioThread",
      ],
      ["negative latency", (m) => (p(m).latencyMs = -1), "payload.latencyMs"],
      ["unknown field", (m) => (p(m).extra = 1), "payload.extra"],
      ["missing reachable", (m) => delete p(m).reachable, "payload.reachable"],
      ["wrong type", (m) => (m.type = "topology"), "type"],
      ["wrong version", (m) => (m.version = 2), "version"],
      ["bad time", (m) => (m.time = "yesterday"), "time"],
    ],
  ],
  [
    "observed-topology",
    ObservedTopologyMessage,
    "observed-topology",
    ex.observedTopology,
    [
      ["bad link state", (m) => (p(m).links[0].state = "fine"), "payload.links.0.state"],
      ["primaries not array", (m) => (p(m).primaries = "db1"), "payload.primaries"],
    ],
  ],
  [
    "topology",
    TopologyMessage,
    "topology",
    ex.topology,
    [
      ["bad role", (m) => (p(m).servers[0].role = "boss"), "payload.servers.0.role"],
      ["negative epoch", (m) => (p(m).epoch = -1), "payload.epoch"],
      ["bad port", (m) => (p(m).writer.port = 70000), "payload.writer.port"],
    ],
  ],
  [
    "event",
    ClusterEventMessage,
    "event",
    ex.clusterEvent,
    [["unknown situation", (m) => (p(m).situation = "AllGood"), "payload.situation"]],
  ],
  [
    "operation",
    OperationMessage,
    "operation",
    ex.operation,
    [
      ["bad kind", (m) => (p(m).kind = "explode"), "payload.kind"],
      ["bad op id", (m) => (p(m).opId = "op 1"), "payload.opId"],
    ],
  ],
  [
    "command-reply ok",
    CommandReplyMessage,
    "command-reply",
    ex.replyOk,
    [["ok not boolean", (m) => (p(m).ok = "yes"), "payload.ok"]],
  ],
  [
    "command-reply error",
    CommandReplyMessage,
    "command-reply",
    ex.replyError,
    [["unknown code", (m) => (p(m).error.code = "OOPS"), "payload.error.code"]],
  ],
  [
    "exec-request",
    ExecRequestMessage,
    "exec-request",
    ex.execRequest,
    [
      ["unknown step", (m) => (p(m).step.kind = "drop-database"), "payload.step.kind"],
      [
        "bad connection name",
        (m) => (p(m).step.connection = "x'; DROP"),
        "payload.step.connection",
      ],
      ["missing epoch", (m) => delete p(m).epoch, "payload.epoch"],
    ],
  ],
  [
    "exec-result",
    ExecResultMessage,
    "exec-result",
    ex.execResult,
    [["empty step id", (m) => (p(m).stepId = ""), "payload.stepId"]],
  ],
  [
    "agent-request",
    AgentRequestMessage,
    "agent-request",
    ex.agentRequest,
    [
      ["unknown action", (m) => (p(m).request.action = "rm"), "payload.request.action"],
      ["shell in host", (m) => (p(m).host = "h;reboot"), "payload.host"],
      [
        "bad compression level",
        (m) => (p(m).request.compression.level = 42),
        "payload.request.compression.level",
      ],
      ["bad address", (m) => (p(m).request.to.address = "$(id)"), "payload.request.to.address"],
    ],
  ],
  [
    "agent-result",
    AgentResultMessage,
    "agent-result",
    ex.agentResult,
    [["ok missing", (m) => delete p(m).ok, "payload.ok"]],
  ],
  [
    "agent-heartbeat",
    AgentHeartbeatMessage,
    "agent-heartbeat",
    ex.agentHeartbeat,
    [["bad pid", (m) => (p(m).servers[0].pid = 0), "payload.servers.0.pid"]],
  ],
];

describe.each(cases)("%s", (_name, schema, type, payload, mutations) => {
  it("accepts the valid example", () => {
    const r = check(schema, ex.wrap(type, payload));
    expect(r.ok ? "ok" : r.error.message).toBe("ok");
  });

  it("accepts it from JSON bytes", () => {
    const bytes = new TextEncoder().encode(JSON.stringify(ex.wrap(type, payload)));
    expect(parseMessage(schema, bytes).ok).toBe(true);
  });

  it.each(mutations)("rejects %s naming %s", (_label, mutate, path) => {
    const msg = clone(ex.wrap(type, payload)) as Record<string, unknown>;
    mutate(msg);
    const r = check(schema, msg);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("VALIDATION_FAILED");
      expect(r.error.path).toBe(path);
    }
  });
});

describe("parseMessage", () => {
  it("answers BAD_JSON for bytes that are not JSON", () => {
    const r = parseMessage(HealthMessage, "{nope");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("BAD_JSON");
  });
});

describe("parseCommand", () => {
  it("takes a bare payload as a person types it, filling defaults", () => {
    const r = parseCommand("switchover", '{"target":"db2"}');
    expect(r).toEqual({ ok: true, value: { target: "db2", force: false, timeoutMs: 10000 } });
  });

  it("takes an empty body for commands without required fields", () => {
    expect(parseCommand("failover", "")).toEqual({
      ok: true,
      value: { force: false, acceptLoss: false },
    });
    expect(parseCommand("reset-failover-limits", "  ")).toEqual({ ok: true, value: {} });
  });

  it("takes a full envelope", () => {
    const r = parseCommand("rejoin", JSON.stringify(ex.wrap("cmd.rejoin", { server: "db1" })));
    expect(r).toEqual({ ok: true, value: { server: "db1" } });
  });

  it.each([
    ["rejoin", "{}", "VALIDATION_FAILED", "server"],
    ["rejoin", '{"server":"db1; DROP TABLE x"}', "VALIDATION_FAILED", "server"],
    ["failover", '{"target":5}', "VALIDATION_FAILED", "target"],
    ["failover", '{"targt":"db2"}', "VALIDATION_FAILED", "targt"],
    ["rebuild", '{"target":"db2","method":"magic"}', "VALIDATION_FAILED", "method"],
    ["switchover", '{"timeoutMs":1}', "VALIDATION_FAILED", "timeoutMs"],
    ["failover", "[1,2", "BAD_JSON", undefined],
    ["explode", "{}", "UNKNOWN_COMMAND", "verb"],
    [
      "rejoin",
      JSON.stringify(ex.wrap("cmd.failover", { server: "db1" })),
      "VALIDATION_FAILED",
      "type",
    ],
    [
      "rejoin",
      JSON.stringify(ex.wrap("cmd.rejoin", { server: "" })),
      "VALIDATION_FAILED",
      "payload.server",
    ],
  ])("%s %s → %s at %s", (verb, body, code, path) => {
    const r = parseCommand(verb, body);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe(code);
      expect(r.error.path).toBe(path);
    }
  });
});

describe("docs/schemas", () => {
  it("are current (run `pnpm schemas` after changing a schema)", () => {
    const dir = join(import.meta.dirname, "../../../docs/schemas");
    const expected = renderJsonSchemas();
    const onDisk = new Map(
      readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .map((f) => [f, readFileSync(join(dir, f), "utf8")]),
    );
    expect([...onDisk.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, text] of expected) expect(onDisk.get(name), name).toBe(text);
  });
});
