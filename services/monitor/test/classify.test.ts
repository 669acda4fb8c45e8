import { describe, expect, it } from "vitest";
import { classifyError, PROBE_TIMEOUT } from "../src/classify.js";

function sqlError(code: string, errno: number, sqlMessage: string, fatal = false) {
  return Object.assign(new Error(`(conn:-1, no: ${errno}) ${sqlMessage}\nsql: SELECT 1`), {
    code,
    errno,
    sqlMessage,
    fatal,
  });
}

describe("classifyError", () => {
  it.each([
    [sqlError("ECONNREFUSED", 45000, "connect ECONNREFUSED 127.0.0.1:3306", true), "refused"],
    [
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
      "refused",
    ],
    [sqlError("ER_CONNECTION_TIMEOUT", 45012, "Connection timeout", true), "timeout"],
    [sqlError("ER_SOCKET_TIMEOUT", 45026, "socket timeout", true), "timeout"],
    [Object.assign(new Error("no answer"), { code: PROBE_TIMEOUT }), "timeout"],
    [
      sqlError("ER_SOCKET_UNEXPECTED_CLOSE", 45009, "socket has unexpectedly been closed", true),
      "dropped",
    ],
    [Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), "dropped"],
    [sqlError("ER_ACCESS_DENIED_ERROR", 1045, "Access denied for user 'x'"), "auth"],
    [sqlError("ER_SPECIFIC_ACCESS_DENIED_ERROR", 1227, "need SUPER"), "auth"],
    [sqlError("ER_UNKNOWN_TABLE", 1109, "Unknown table 'DISKS'"), "sql"],
    [new Error("something odd"), "other"],
    ["a string", "other"],
  ])("%#: classifies as %s", (err, kind) => {
    expect(classifyError(err).kind).toBe(kind);
  });

  it("finds the code in a cause or in the message", () => {
    const wrapped = new Error("connect failed", {
      cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
    });
    expect(classifyError(wrapped)).toMatchObject({ code: "ECONNREFUSED", kind: "refused" });
    expect(classifyError(new Error("connect ECONNREFUSED 127.0.0.1:1")).kind).toBe("refused");
  });

  it("keeps the server's message without the SQL text", () => {
    const e = classifyError(sqlError("ER_UNKNOWN_TABLE", 1109, "Unknown table 'DISKS'"));
    expect(e.message).toBe("Unknown table 'DISKS'");
    expect(e.code).toBe("ER_UNKNOWN_TABLE");
  });
});
