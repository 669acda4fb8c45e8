import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, REDACTED } from "../src/index.js";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

const SECRET = "hunter2-s3cret";

describe("createLogger", () => {
  // Every shape in which a service logs (or might log) a secret today.
  it.each([
    ["a password", { password: SECRET }],
    ["the NATS client's pass", { pass: SECRET }],
    ["an account", { admin: { user: "marina", password: SECRET } }],
    ["a resolved cluster", { cluster: { replication: { user: "repl", password: SECRET } } }],
    ["the NATS settings", { nats: { servers: ["nats://x"], password: SECRET } }],
    [
      "the whole config",
      {
        config: {
          nats: { password: SECRET },
          clusters: [{ admin: { password: SECRET }, replication: { password: SECRET } }],
        },
      },
    ],
    ["the agent's backup password", { backupPassword: SECRET }],
    ["a child process environment", { env: { MYSQL_PWD: SECRET } }],
    ["a nested child environment", { spawn: { env: { MYSQL_PWD: SECRET } } }],
    ["an options object", { o: { nats: { pass: SECRET } } }],
    ["an SSH private key", { privateKey: SECRET }],
    ["an agent's ssh section", { ssh: { user: "marina", privateKey: SECRET } }],
    ["an agent's server entry", { server: { ssh: { privateKey: { value: SECRET } } } }],
  ])("never writes %s", (_what, obj) => {
    const { lines, destination } = capture();
    createLogger({ service: "test", destination }).info(obj, "line");
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(SECRET);
    expect(lines[0]).toContain(REDACTED);
  });

  it("keeps what is not a secret", () => {
    const { lines, destination } = capture();
    createLogger({ service: "test", destination }).info({ admin: { user: "marina" } }, "x");
    expect(JSON.parse(lines[0]!)).toMatchObject({ name: "marina-test", admin: { user: "marina" } });
  });

  it("honours LOG_LEVEL, an explicit level first, and adds bindings", () => {
    const a = capture();
    const quiet = createLogger({
      service: "t",
      destination: a.destination,
      env: { LOG_LEVEL: "warn" },
    });
    quiet.info("hidden");
    quiet.warn("shown");
    expect(a.lines.map((l) => JSON.parse(l).msg)).toEqual(["shown"]);

    const b = capture();
    const log = createLogger({
      service: "t",
      level: "debug",
      env: { LOG_LEVEL: "error" },
      destination: b.destination,
      bindings: { executor: "e1" },
    });
    log.debug("d");
    expect(JSON.parse(b.lines[0]!)).toMatchObject({ msg: "d", executor: "e1" });
  });
});
