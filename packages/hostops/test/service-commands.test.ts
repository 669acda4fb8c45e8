import { describe, expect, it } from "vitest";
import { SshHostOps, type SshServer } from "../src/index.js";

// Service commands replace `systemctl stop|start` on hosts without systemd: argument lists
// whose program is an absolute path, every word quoted when sent; validated up front.

const server: SshServer = {
  name: "db3",
  datadir: "/var/lib/mysql",
  defaultsFile: "/etc/mysql/my.cnf",
  socket: "/run/mysqld/mysqld.sock",
  osUser: "mysql",
  osGroup: "mysql",
  unit: "mariadb",
};

describe("service commands", () => {
  it("accepts argument lists whose program is an absolute path", () => {
    const s = {
      ...server,
      service: { stop: ["/usr/local/bin/db", "stop", "a b'c"], start: ["/x"] },
    };
    expect(SshHostOps.checkServer(s)).toBe(s);
  });

  it.each([
    ["a relative program", { stop: ["db", "stop"], start: ["/x"] }, /service.stop\[0\]/],
    ["an empty list", { stop: [], start: ["/x"] }, /service.stop: must have 1-32 words/],
    ["a newline in a word", { stop: ["/x"], start: ["/x", "a\nb"] }, /service.start\[1\]/],
    ["a '..' path", { stop: ["/usr/../bin/sh"], start: ["/x"] }, /service.stop\[0\]/],
  ])("refuses %s", (_what, service, message) => {
    expect(() => SshHostOps.checkServer({ ...server, service })).toThrow(message);
  });
});
