import { describe, expect, it } from "vitest";
import {
  BUCKETS,
  EVENTS_STREAM,
  HEALTH_STREAM,
  HISTORY_STREAM,
  LEASE_BUCKET,
  PRESENCE_BUCKET,
  QUEUE_GROUPS,
  STATE_BUCKET,
  STREAMS,
} from "../src/resources.js";
import { subjects } from "../src/subjects.js";

// Subjects as a stream's filter matches them: `*` one token, `>` the rest.
function matches(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return s.length > i;
    if (f[i] !== "*" && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}

const kept = (stream: keyof typeof STREAMS, subject: string) =>
  STREAMS[stream].subjects.some((f) => matches(f, subject));

describe("NATS resource names", () => {
  it("are the names deployments already have", () => {
    expect([EVENTS_STREAM, HEALTH_STREAM, HISTORY_STREAM]).toEqual([
      "MARINA_EVENTS",
      "MARINA_HEALTH",
      "MARINA_HISTORY",
    ]);
    expect([LEASE_BUCKET, STATE_BUCKET, PRESENCE_BUCKET]).toEqual([
      "marina_leader",
      "marina_state",
      "marina_deciders",
    ]);
    expect(BUCKETS).toEqual({
      leader: LEASE_BUCKET,
      state: STATE_BUCKET,
      deciders: PRESENCE_BUCKET,
    });
    expect(QUEUE_GROUPS).toEqual({ executors: "executors", deciders: "deciders" });
  });

  it("each stream keeps its own subjects and none of the other's", () => {
    for (const s of [
      subjects.topology("main"),
      subjects.events("main"),
      subjects.op("main", "op-1"),
    ]) {
      expect([kept("events", s), kept("health", s), kept("history", s)], s).toEqual([
        true,
        false,
        false,
      ]);
    }
    for (const s of [subjects.health("main", "db1"), subjects.observed("main")]) {
      expect([kept("events", s), kept("health", s), kept("history", s)], s).toEqual([
        false,
        true,
        false,
      ]);
    }
    const record = subjects.history("main", "op-1");
    expect([kept("events", record), kept("health", record), kept("history", record)]).toEqual([
      false,
      false,
      true,
    ]);
    // Requests and forwarded commands are never kept.
    for (const s of [
      subjects.cmd("main", "status"),
      subjects.exec("main"),
      subjects.leaderCmd("main", "status"),
    ]) {
      expect([kept("events", s), kept("health", s), kept("history", s)], s).toEqual([
        false,
        false,
        false,
      ]);
    }
  });
});

describe("subjects.leaderCmd", () => {
  it("is the cluster's private forwarding subject", () => {
    expect(subjects.leaderCmd("main", "switchover")).toBe("marina.v1.main.leader.cmd.switchover");
    expect(subjects.leaderCmd("main", "*")).toBe("marina.v1.main.leader.cmd.*");
    expect(() => subjects.leaderCmd("a.b", "status")).toThrow(/not a safe subject token/);
  });
});
