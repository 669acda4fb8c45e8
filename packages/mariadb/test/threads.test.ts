import { describe, expect, it } from "vitest";
import {
  granteeUser,
  keepReason,
  killOrder,
  partitionThreads,
  privilegedUserNames,
  type ThreadInfo,
} from "../src/fence/threads.js";

const t = (id: number, user: string, command = "Sleep", state = ""): ThreadInfo => ({
  id,
  user,
  host: "127.0.0.1:5000",
  command,
  state,
});

const filter = {
  ownId: 7,
  protectedUsers: new Set(["marina", "repl"]),
  privilegedUsers: new Set(["root", "ops"]),
  includePrivileged: false,
};

describe("keepReason", () => {
  it.each([
    [t(7, "app"), "own"],
    [t(1, "system user", "Slave_SQL"), "system"],
    [t(2, "event_scheduler", "Daemon"), "system"],
    [t(3, "repl", "Binlog Dump"), "replication"],
    [t(4, "someone", "Binlog Dump GTID"), "replication"],
    [t(5, "marina", "Query"), "marina"],
    [t(6, "repl", "Sleep"), "marina"],
    [t(8, "root"), "privileged"],
    [t(9, "app", "Query"), undefined],
    [t(10, "unauthenticated user", "Connect"), undefined],
  ] as const)("%j → %s", (thread, reason) => {
    expect(keepReason(thread, filter)).toBe(reason);
  });

  it("kills privileged users when includePrivileged", () => {
    expect(keepReason(t(8, "root"), { ...filter, includePrivileged: true })).toBeUndefined();
  });
});

describe("partitionThreads", () => {
  it("splits into kill and kept with reasons", () => {
    const { kill, kept } = partitionThreads(
      [t(7, "marina"), t(9, "app"), t(11, "ops"), t(12, "app"), t(-1, "broken")],
      filter,
    );
    expect(kill.map((x) => x.id)).toEqual([9, 12]);
    expect(kept.map((x) => [x.id, x.reason])).toEqual([
      [7, "own"],
      [11, "privileged"],
    ]);
  });
});

describe("grantees", () => {
  it.each([
    ["'root'@'localhost'", "root"],
    ["'o''brien'@'%'", "o'brien"],
    ["'a@b'@'10.0.0.%'", "a@b"],
    ["role_without_host", undefined],
  ])("%s → %s", (g, user) => {
    expect(granteeUser(g)).toBe(user);
  });
  it("collects user names", () => {
    expect([...privilegedUserNames(["'root'@'localhost'", "'root'@'::1'", "'x'@'%'"])]).toEqual([
      "root",
      "x",
    ]);
  });
});

describe("killOrder", () => {
  it("kills the sessions waiting for a semi-sync ack last, after the rest of their group", () => {
    const threads = [
      t(1, "app", "Query", "Waiting for semi-sync ACK from slave"),
      t(2, "app", "Query", "Waiting for prior transaction to commit"),
      t(3, "app", "Sleep"),
      t(4, "app", "Query", "waiting for semi-sync ack from slave"),
      t(5, "app", "Query", "Commit"),
    ];
    expect(killOrder(threads).map((x) => x.id)).toEqual([2, 3, 5, 1, 4]);
  });
});
