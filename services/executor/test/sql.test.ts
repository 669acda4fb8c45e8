import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as sql from "../src/sql.js";

describe("connectionLiteral", () => {
  it.each([
    ["", "''"],
    ["src_a", "'src_a'"],
    ["A-1", "'A-1'"],
  ])("quotes %j as %s", (name, literal) => {
    expect(sql.connectionLiteral(name)).toBe(literal);
  });

  it.each(["a'b", "a\\b", "a b", "a.b", "x;DROP", "é", "a\nb", "x".repeat(65)])(
    "refuses %j with VALIDATION_FAILED",
    (name) => {
      expect(() => sql.connectionLiteral(name)).toThrow(
        expect.objectContaining({ code: "VALIDATION_FAILED" }),
      );
    },
  );

  it("never lets a quote, backslash or whitespace through (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (name) => {
        let out: string;
        try {
          out = sql.connectionLiteral(name);
        } catch {
          return true;
        }
        // Accepted: exactly the name between two quotes, nothing that could end the literal.
        return out === `'${name}'` && !/['\\\s]/.test(name);
      }),
    );
  });
});

describe("canonicalGtid", () => {
  it("sorts and strips whitespace", () => {
    expect(sql.canonicalGtid(" 1-2-5,\n 0-1-10 ")).toBe("0-1-10,1-2-5");
    expect(sql.canonicalGtid("")).toBe("");
  });
  it("refuses a malformed list", () => {
    expect(() => sql.canonicalGtid("0-1-x")).toThrow(
      expect.objectContaining({ code: "VALIDATION_FAILED" }),
    );
    expect(() => sql.canonicalGtid("0-1-1' OR '1")).toThrow();
  });
});

describe("statements", () => {
  it("stop/start/reset name the connection", () => {
    expect(sql.stopSlave("").sql).toBe("STOP SLAVE ''");
    expect(sql.stopSlave("a", "IO_THREAD").sql).toBe("STOP SLAVE 'a' IO_THREAD");
    expect(sql.startSlave("b").sql).toBe("START SLAVE 'b'");
    expect(sql.resetSlaveAll("").sql).toBe("RESET SLAVE '' ALL");
    expect(sql.startSlaveUntil("", "0-1-5")).toEqual({
      sql: "START SLAVE '' UNTIL master_gtid_pos = ?",
      params: ["0-1-5"],
    });
  });

  it("change master keeps host, user and password out of the SQL text", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 4 }),
        fc.integer({ min: 1, max: 65535 }),
        (host, user, password, port) => {
          const s = sql.changeMaster("c1", { host, port, user, password, useGtid: "slave_pos" });
          expect(s.params).toEqual([host, port, user, password]);
          expect(s.sql).toBe(
            "CHANGE MASTER 'c1' TO MASTER_HOST=?, MASTER_PORT=?, MASTER_USER=?, MASTER_PASSWORD=?, " +
              "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1",
          );
        },
      ),
    );
  });

  it("change master over TLS: MASTER_SSL=1, the CA path as a parameter, the certificate verified", () => {
    const s = sql.changeMaster("", {
      host: "h",
      port: 3306,
      user: "u",
      password: "p",
      useGtid: "slave_pos",
      sslCa: "/etc/mysql/ca'.pem",
    });
    expect(s.sql).toMatch(
      /MASTER_HEARTBEAT_PERIOD=1, MASTER_SSL=1, MASTER_SSL_CA=\?, MASTER_SSL_VERIFY_SERVER_CERT=1$/,
    );
    expect(s.params).toEqual(["h", 3306, "u", "p", "/etc/mysql/ca'.pem"]);
  });

  it("change master refuses an unknown MASTER_USE_GTID mode and a bad port", () => {
    const base = { host: "h", port: 1, user: "u", password: "p" };
    expect(() =>
      sql.changeMaster("", { ...base, useGtid: "no; DROP" as unknown as sql.UseGtid }),
    ).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
    expect(() => sql.changeMaster("", { ...base, port: 0, useGtid: "current_pos" })).toThrow();
  });

  it("read-only, semi-sync, gtid_slave_pos, kill", () => {
    expect(sql.setReadOnly(true).sql).toBe("SET GLOBAL read_only = ON");
    expect(sql.setReadOnly(false).sql).toBe("SET GLOBAL read_only = OFF");
    expect(sql.setSemiSync("slave", true).sql).toBe("SET GLOBAL rpl_semi_sync_slave_enabled = ON");
    expect(sql.setSemiSync("master", false).sql).toBe(
      "SET GLOBAL rpl_semi_sync_master_enabled = OFF",
    );
    expect(sql.setGtidSlavePos("1-1-1, 0-2-3")).toEqual({
      sql: "SET GLOBAL gtid_slave_pos = ?",
      params: ["0-2-3,1-1-1"],
    });
    expect(sql.killConnection(42).sql).toBe("KILL CONNECTION 42");
    expect(() => sql.killConnection(1.5)).toThrow();
    expect(() => sql.killConnection(-1)).toThrow();
  });

  it("MASTER_GTID_WAIT takes seconds", () => {
    expect(sql.masterGtidWait("0-1-5", 2500)).toEqual({
      sql: "SELECT MASTER_GTID_WAIT(?, ?) AS result",
      params: ["0-1-5", 2.5],
    });
  });
});
