import { MarinaError } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { classifyDbError, errnoOf } from "../src/db-errors.js";

describe("classifyDbError", () => {
  it.each([
    [
      { errno: 1198, code: "ER_SLAVE_MUST_STOP", sqlState: "HY000", sqlMessage: "run STOP SLAVE" },
      "SQL_ERROR",
    ],
    [{ errno: 1045, code: "ER_ACCESS_DENIED_ERROR", sqlMessage: "Access denied" }, "SQL_ERROR"],
    [{ errno: 45012, code: "ER_CONNECTION_TIMEOUT", sqlMessage: "timeout" }, "SERVER_UNREACHABLE"],
    [
      { errno: 45026, code: "ER_SOCKET_TIMEOUT", sqlMessage: "socket timeout" },
      "SERVER_UNREACHABLE",
    ],
    [{ errno: 45009, code: "ER_SOCKET_UNEXPECTED_CLOSE" }, "SERVER_UNREACHABLE"],
    [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:1" }, "SERVER_UNREACHABLE"],
    [{ errno: 1927, sqlMessage: "Connection was killed" }, "SERVER_UNREACHABLE"],
    [{ errno: 45016, code: "ER_MISSING_PARAMETER" }, "INTERNAL"],
    ["weird", "INTERNAL"],
  ])("%j → %s", (err, code) => {
    const e = classifyDbError(err, "db2 (127.0.0.1:3312)");
    expect(e.code).toBe(code);
    expect(e.message.startsWith("db2 (127.0.0.1:3312): ")).toBe(true);
  });

  it("puts the errno in SQL errors, and never the statement", () => {
    const e = classifyDbError(
      {
        errno: 1064,
        sqlState: "42000",
        sqlMessage: "syntax error",
        message: "(conn:3) syntax error\nsql: CHANGE MASTER TO MASTER_PASSWORD='hunter2'",
      },
      "db1",
    );
    expect(e.message).toBe("db1: error 1064 (42000): syntax error");
    expect(e.message).not.toContain("hunter2");
    expect(e.retryable).toBe(false);
    expect(classifyDbError({ code: "ECONNRESET" }, "db1").retryable).toBe(true);
  });

  it("passes MarinaErrors through and finds the errno behind them", () => {
    const m = new MarinaError("TIMEOUT", "t");
    expect(classifyDbError(m, "x")).toBe(m);
    const wrapped = classifyDbError({ errno: 1094, sqlMessage: "Unknown thread id" }, "x");
    expect(errnoOf(wrapped)).toBe(1094);
    expect(errnoOf(new Error("x"))).toBeUndefined();
  });
});
