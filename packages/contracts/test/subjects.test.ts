import { describe, expect, it } from "vitest";
import { parseClusterSubject, subjects } from "../src/subjects.js";

describe("subjects", () => {
  it("builds the documented names", () => {
    expect(subjects.health("main", "db1")).toBe("marina.v1.main.health.db1");
    expect(subjects.topology("main")).toBe("marina.v1.main.topology");
    expect(subjects.op("main", "op-1")).toBe("marina.v1.main.op.op-1");
    expect(subjects.cmd("main", "switchover")).toBe("marina.v1.main.cmd.switchover");
    expect(subjects.exec("main")).toBe("marina.v1.main.exec");
    expect(subjects.agent("host1", "send-backup")).toBe("marina.v1.agent.host1.send-backup");
    expect(subjects.agentHeartbeat("host1")).toBe("marina.v1.agent.host1.heartbeat");
  });

  it.each(["a.b", "*", ">", "a b", "", "-x", "x/y", "ä", "a".repeat(64)])(
    "refuses the unsafe token %j",
    (bad) => {
      expect(() => subjects.health(bad, "db1")).toThrow(/not a safe subject token/);
      expect(() => subjects.health("main", bad)).toThrow(/not a safe subject token/);
    },
  );

  it("parses a cluster subject back", () => {
    expect(parseClusterSubject("marina.v1.main.health.db1")).toEqual({
      cluster: "main",
      kind: "health",
      rest: ["db1"],
    });
    expect(parseClusterSubject("other.v1.main.health.db1")).toBeUndefined();
    expect(parseClusterSubject("marina.v1.agent.h1.heartbeat")).toBeUndefined();
  });
});
