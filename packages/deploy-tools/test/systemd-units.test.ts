// The unit files in deploy/systemd/, read as systemd would (and as the install test starts
// them): one ExecStart each, into /opt/marina or the packaged nats-server, config and
// secrets from /etc/marina.
import { readdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseEnvironmentFile, parseServiceUnit, splitCommandLine } from "./systemd-unit.js";

const dir = resolve(import.meta.dirname, "../../../deploy/systemd");
const units = readdirSync(dir).filter((f) => f.endsWith(".service"));

describe("deploy/systemd units", () => {
  it("are one per service and nats-server", () => {
    expect(units.sort()).toEqual([
      "marina-agent.service",
      "marina-decider.service",
      "marina-executor.service",
      "marina-monitor.service",
      "nats-server.service",
    ]);
  });

  it.each(units)("%s runs from the prefix with the config dir's files", (name) => {
    const text = readFileSync(join(dir, name), "utf8");
    const cmd = parseServiceUnit(text);
    if (name === "nats-server.service") {
      expect(cmd.argv).toEqual(["/usr/sbin/nats-server", "-c", "/etc/marina/nats-server.conf"]);
      // the passwords: required, or nats-server would refuse the config anyway
      expect(cmd.environmentFiles).toEqual([
        { path: "/etc/marina/nats-server.env", optional: false },
      ]);
      return;
    }
    const service = name.replace(/^marina-/, "").replace(/\.service$/, "");
    expect(cmd.argv.slice(0, 2)).toEqual([
      "/usr/bin/node",
      `/opt/marina/services/${service}/dist/main.js`,
    ]);
    const config = service === "agent" ? "agent" : "marina";
    expect(cmd.argv.slice(2, 4)).toEqual(["--config", `/etc/marina/${config}.yaml`]);
    expect(cmd.environmentFiles.map((f) => f.path)).toEqual([`/etc/marina/${config}.env`]);
    // a bad config (exit code 2) is not restarted in a loop
    expect(text).toMatch(/^RestartPreventExitStatus=2$/m);
  });

  it("gives the decider a stable id: the host name", () => {
    const cmd = parseServiceUnit(readFileSync(join(dir, "marina-decider.service"), "utf8"));
    expect(cmd.argv.slice(-2)).toEqual(["--id", hostname()]);
  });
});

describe("the test's systemd reader", () => {
  it("splits command lines with quotes and specifiers as systemd does", () => {
    expect(splitCommandLine(`/bin/x "a b" 'c d' e\\f 100%% %H`)).toEqual([
      "/bin/x",
      "a b",
      "c d",
      "e\\f",
      "100%",
      hostname(),
    ]);
    expect(() => splitCommandLine("/bin/x %n")).toThrow(/%n is not supported/);
  });

  it("reads environment files: comments, quotes", () => {
    expect(parseEnvironmentFile("# c\n\nA=1\nB=\"x y\"\nC='z'\n")).toEqual({
      A: "1",
      B: "x y",
      C: "z",
    });
    expect(() => parseEnvironmentFile("not a line")).toThrow(/not KEY=VALUE/);
  });
});
