import { describe, expect, it } from "vitest";
import { AgentHeartbeatMessage } from "../src/agent.js";
import { HealthMessage } from "../src/health.js";
import { type MessageSchema, parseOnSubject } from "../src/on-subject.js";
import { OperationMessage } from "../src/operations.js";
import { TopologyMessage } from "../src/topology.js";
import * as ex from "./examples.js";

const body = (type: string, payload: unknown) => JSON.stringify(ex.wrap(type, payload));
const health = body("health", ex.health); // cluster main, server db2
const operation = body("operation", ex.operation); // cluster main, op-1
const heartbeat = body("agent-heartbeat", ex.agentHeartbeat); // host1

describe("parseOnSubject: a Marina message names its own subject's tokens", () => {
  it.each([
    ["health", HealthMessage, "marina.v1.main.health.db2", health],
    ["operation", OperationMessage, "marina.v1.main.op.op-1", operation],
    ["heartbeat", AgentHeartbeatMessage, "marina.v1.agent.host1.heartbeat", heartbeat],
    ["topology", TopologyMessage, "marina.v1.main.topology", body("topology", ex.topology)],
  ] as [string, MessageSchema<unknown>, string, string][])(
    "accepts a valid %s on its subject",
    (_n, schema, subject, data) => {
      expect(parseOnSubject(schema, subject, data).ok).toBe(true);
    },
  );

  it.each([
    [
      "db2's sample on db1's subject",
      HealthMessage,
      "marina.v1.main.health.db1",
      health,
      "payload.server",
    ],
    [
      "another cluster's sample",
      HealthMessage,
      "marina.v1.other.health.db2",
      health,
      "payload.cluster",
    ],
    ["another operation", OperationMessage, "marina.v1.main.op.op-2", operation, "payload.opId"],
    [
      "another host's beat",
      AgentHeartbeatMessage,
      "marina.v1.agent.h9.heartbeat",
      heartbeat,
      "payload.host",
    ],
    [
      "another cluster's topology",
      TopologyMessage,
      "marina.v1.x.topology",
      body("topology", ex.topology),
      "payload.cluster",
    ],
    ["junk", TopologyMessage, "marina.v1.main.topology", "junk", undefined],
    ["a health sample as topology", TopologyMessage, "marina.v1.main.topology", health, "type"],
  ] as [string, MessageSchema<unknown>, string, string, string | undefined][])(
    "refuses %s",
    (_n, schema, subject, data, path) => {
      const r = parseOnSubject(schema, subject, data);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.path).toBe(path);
    },
  );
});
