import { MarinaError } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import {
  classifyDriverError,
  errnoOf,
  FAILURES_BY_CODE,
  FAILURES_BY_ERRNO,
  marinaErrorOf,
  PROBE_TIMEOUT,
  probeErrorOf,
} from "../src/index.js";

// Every code and errno the monitor's classify.ts and the executor's db-errors.ts knew,
// with what each reading gives now. `was` notes where the old tables said otherwise.
const BY_CODE: ReadonlyArray<[string, string, string, string?]> = [
  // code, monitor kind, executor code, was
  ["ECONNREFUSED", "refused", "SERVER_UNREACHABLE"],
  [PROBE_TIMEOUT, "timeout", "SERVER_UNREACHABLE"],
  ["ETIMEDOUT", "timeout", "SERVER_UNREACHABLE"],
  ["ER_CONNECTION_TIMEOUT", "timeout", "SERVER_UNREACHABLE"],
  ["ER_SOCKET_TIMEOUT", "timeout", "SERVER_UNREACHABLE"],
  ["ER_GET_CONNECTION_TIMEOUT", "timeout", "SERVER_UNREACHABLE"],
  ["ER_INITIAL_TIMEOUT_ERROR", "timeout", "SERVER_UNREACHABLE", "monitor: other"],
  ["ER_PING_TIMEOUT", "timeout", "SERVER_UNREACHABLE", "monitor: other"],
  ["EHOSTUNREACH", "timeout", "SERVER_UNREACHABLE", "monitor: other"],
  ["ENETUNREACH", "timeout", "SERVER_UNREACHABLE", "monitor: other"],
  ["EHOSTDOWN", "timeout", "SERVER_UNREACHABLE", "monitor: other"],
  ["ENOTFOUND", "timeout", "SERVER_UNREACHABLE", "monitor: other"],
  ["EAI_AGAIN", "timeout", "SERVER_UNREACHABLE", "monitor: other"],
  ["ECONNRESET", "dropped", "SERVER_UNREACHABLE"],
  ["EPIPE", "dropped", "SERVER_UNREACHABLE"],
  ["ER_SOCKET", "dropped", "SERVER_UNREACHABLE"],
  ["ER_SOCKET_UNEXPECTED_CLOSE", "dropped", "SERVER_UNREACHABLE"],
  ["ER_CMD_CONNECTION_CLOSED", "dropped", "SERVER_UNREACHABLE"],
  ["ER_CONNECTION_ALREADY_CLOSED", "dropped", "SERVER_UNREACHABLE"],
  ["ER_CMD_NOT_EXECUTED_DESTROYED", "dropped", "SERVER_UNREACHABLE"],
  // Connector-side auth failures carry no server errno: INTERNAL, as before.
  ["ER_AUTHENTICATION_PLUGIN_NOT_SUPPORTED", "auth", "INTERNAL"],
];

// Server-sent auth codes come with their errno; the executor reports SQL_ERROR for a bad
// login and MISSING_PRIVILEGE for a statement the account may not run.
const AUTH_CODES: ReadonlyArray<[string, number, string]> = [
  ["ER_ACCESS_DENIED_ERROR", 1045, "SQL_ERROR"],
  ["ER_DBACCESS_DENIED_ERROR", 1044, "MISSING_PRIVILEGE"],
  ["ER_ACCESS_DENIED_NO_PASSWORD_ERROR", 1698, "SQL_ERROR"],
  ["ER_SPECIFIC_ACCESS_DENIED_ERROR", 1227, "MISSING_PRIVILEGE"],
];

const BY_ERRNO: ReadonlyArray<[number, string, string, string?]> = [
  [1040, "sql", "SERVER_UNREACHABLE"],
  [1044, "auth", "MISSING_PRIVILEGE"],
  [1045, "auth", "SQL_ERROR"],
  [1053, "dropped", "SERVER_UNREACHABLE", "monitor: sql"],
  [1227, "auth", "MISSING_PRIVILEGE", "monitor: sql without the code"],
  [1698, "auth", "SQL_ERROR"],
  [1927, "dropped", "SERVER_UNREACHABLE", "monitor: sql"],
  [2002, "refused", "SERVER_UNREACHABLE", "monitor: sql"],
  [2003, "refused", "SERVER_UNREACHABLE", "monitor: sql"],
  [2006, "dropped", "SERVER_UNREACHABLE", "monitor: sql"],
  [2013, "dropped", "SERVER_UNREACHABLE", "monitor: sql"],
];

function driverError(fields: { code?: string; errno?: number; sqlMessage?: string }) {
  const text = fields.sqlMessage ?? "failed";
  return Object.assign(new Error(`(conn:-1, no: ${fields.errno ?? 0}) ${text}\nsql: SELECT 1`), {
    sqlState: "HY000",
    ...fields,
  });
}

describe("the driver-error table", () => {
  it("lists exactly the codes and errnos tested here", () => {
    expect(Object.keys(FAILURES_BY_CODE).sort()).toEqual(
      [...BY_CODE.map(([c]) => c), ...AUTH_CODES.map(([c]) => c)].sort(),
    );
    expect(Object.keys(FAILURES_BY_ERRNO).map(Number).sort()).toEqual(
      BY_ERRNO.map(([n]) => n).sort(),
    );
  });

  it.each(BY_CODE)("code %s: monitor %s, executor %s", (code, kind, marina) => {
    const err = driverError({ code, errno: code.startsWith("ER_") ? 45001 : undefined });
    expect(probeErrorOf(err)).toMatchObject({ code, kind });
    expect(marinaErrorOf(err, "db1").code).toBe(marina);
  });

  it.each(AUTH_CODES)("code %s (errno %i): auth, %s", (code, errno, marina) => {
    const err = driverError({ code, errno, sqlMessage: "Access denied" });
    expect(probeErrorOf(err).kind).toBe("auth");
    expect(marinaErrorOf(err, "db1").code).toBe(marina);
  });

  it.each(BY_ERRNO)("errno %i: monitor %s, executor %s", (errno, kind, marina) => {
    const err = driverError({ errno, code: "ER_SOMETHING_ELSE" });
    expect(probeErrorOf(err).kind).toBe(kind);
    expect(marinaErrorOf(err, "db1").code).toBe(marina);
  });

  it.each([
    [{ errno: 1198, code: "ER_SLAVE_MUST_STOP" }, "sql", "SQL_ERROR"],
    [{ errno: 1109, code: "ER_UNKNOWN_TABLE" }, "sql", "SQL_ERROR"],
    // KILL of another account's session without CONNECTION ADMIN; a table access denied.
    [{ errno: 1095, code: "ER_KILL_DENIED_ERROR" }, "sql", "MISSING_PRIVILEGE"],
    [{ errno: 1142, code: "ER_TABLEACCESS_DENIED_ERROR" }, "sql", "MISSING_PRIVILEGE"],
    [{ errno: 45016, code: "ER_MISSING_PARAMETER" }, "other", "INTERNAL"],
    [{}, "other", "INTERNAL"],
  ])("%j: monitor %s, executor %s", (fields, kind, marina) => {
    expect(probeErrorOf(driverError(fields)).kind).toBe(kind);
    expect(marinaErrorOf(driverError(fields), "db1").code).toBe(marina);
  });

  it("reads non-errors as other / INTERNAL", () => {
    expect(probeErrorOf("a string")).toMatchObject({ kind: "other", code: "UNKNOWN" });
    expect(marinaErrorOf("weird", "db1")).toMatchObject({ code: "INTERNAL" });
  });
});

describe("reading an error", () => {
  it("finds the code in a cause or in the message", () => {
    const wrapped = new Error("connect failed", {
      cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
    });
    expect(probeErrorOf(wrapped)).toMatchObject({ code: "ECONNREFUSED", kind: "refused" });
    expect(probeErrorOf(new Error("connect ECONNREFUSED 127.0.0.1:1")).kind).toBe("refused");
    // The executor reads causes too (it read only the error's own code before).
    expect(marinaErrorOf(wrapped, "db1").code).toBe("SERVER_UNREACHABLE");
  });

  it("keeps the server's message, never the statement or its parameters", () => {
    const err = {
      errno: 1064,
      code: "ER_PARSE_ERROR",
      sqlState: "42000",
      sqlMessage: "syntax error",
      message: "(conn:3) syntax error\nsql: CHANGE MASTER TO MASTER_PASSWORD='hunter2'",
    };
    expect(probeErrorOf(err).message).toBe("syntax error");
    const e = marinaErrorOf(err, "db1");
    expect(e.message).toBe("db1: error 1064 (42000): syntax error");
    const noServerText = { code: "ECONNRESET", message: "read ECONNRESET\nsql: x 'hunter2'" };
    expect(marinaErrorOf(noServerText, "db1").message).toBe("db1: read ECONNRESET");
    expect(probeErrorOf(noServerText).message).not.toContain("hunter2");
  });

  it("says what is retryable: the link, not the statement", () => {
    expect(marinaErrorOf({ code: "ECONNRESET" }, "db1").retryable).toBe(true);
    expect(marinaErrorOf({ errno: 1064, sqlMessage: "x" }, "db1").retryable).toBe(false);
  });

  it("passes MarinaErrors through and finds the errno behind them", () => {
    const m = new MarinaError("TIMEOUT", "t");
    expect(marinaErrorOf(m, "x")).toBe(m);
    const wrapped = marinaErrorOf({ errno: 1094, sqlMessage: "Unknown thread id" }, "x");
    expect(errnoOf(wrapped)).toBe(1094);
    expect(errnoOf(new Error("x"))).toBeUndefined();
    expect(classifyDriverError(wrapped).errno).toBe(1094);
  });
});
