import type { ReplicationConnection } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import { alreadyPointing } from "../src/steps/change-master.js";

const c = {
  masterHost: "10.0.0.1",
  masterPort: 3306,
  usingGtid: "Slave_Pos",
  heartbeatPeriodSec: 1,
} as ReplicationConnection;
const want = { host: "10.0.0.1", port: 3306, user: "repl", useGtid: "slave_pos" as const };
const at = (ssl: { allowed: string; ca: string; verify: string }) => ({
  c,
  user: "repl",
  connectRetry: 1,
  ssl,
});
const plain = { allowed: "No", ca: "", verify: "No" };
const tls = { allowed: "Yes", ca: "/etc/mysql/ca.pem", verify: "Yes" };

describe("alreadyPointing and TLS", () => {
  it.each([
    ["no TLS wanted: SSL settings are not looked at", plain, undefined, true],
    ["no TLS wanted, a link set up by hand with SSL kept", tls, undefined, true],
    ["TLS wanted, link plain: change it", plain, "/etc/mysql/ca.pem", false],
    ["TLS wanted, same CA, verified: nothing to do", tls, "/etc/mysql/ca.pem", true],
    ["TLS wanted, another CA path: change it", tls, "/etc/ssl/other.pem", false],
    ["TLS wanted, certificate not verified: change it", { ...tls, verify: "No" }, tls.ca, false],
  ] as const)("%s", (_name, ssl, sslCa, expected) => {
    expect(alreadyPointing(at(ssl), sslCa ? { ...want, sslCa } : want)).toBe(expected);
  });
});
