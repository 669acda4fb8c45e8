// The command line without a Marina: usage errors, help, and an unreachable NATS.
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { EXIT } from "../src/exit-codes.js";
import { runCli } from "../src/program.js";

async function cli(args: string[], env: Record<string, string> = {}) {
  const capture = () => {
    const s = new PassThrough() as PassThrough & NodeJS.WriteStream;
    let text = "";
    s.on("data", (d: Buffer) => {
      text += d.toString();
    });
    return { s, text: () => text };
  };
  const out = capture();
  const err = capture();
  const code = await runCli(args, {
    env,
    stdout: out.s,
    stderr: err.s,
    signal: new AbortController().signal,
    sandboxEnv: () => undefined,
  });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe("marina's command line", () => {
  it("prints help with the exit codes and returns 0", async () => {
    const r = await cli(["--help"]);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toContain("Exit codes: 0 ok; 1 the operation failed");
    for (const c of [
      "status",
      "topology",
      "watch",
      "events",
      "switchover",
      "failover",
      "rebuild",
      "maintenance",
    ]) {
      expect(r.stdout).toContain(`  ${c}`);
    }
  });

  it.each([
    [["bogus"], /unknown command 'bogus'/],
    [["rejoin"], /missing required argument 'server'/],
    [["flashback"], /missing required argument 'server'/],
    [["status", "--bogus"], /unknown option '--bogus'/],
    [["rebuild", "db3", "--method", "magic"], /Allowed choices are physical, logical/],
    [["switchover", "--timeout", "soon"], /--timeout: "soon" is not a duration/],
    [["switchover", "--phase-timeout", "50ms"], /--phase-timeout: /],
    [["status", "--cluster", "a.b"], /--cluster: "a.b" is not a cluster name/],
    [["switchover", "db 2"], /<target>: /],
    [["provision-replica", "db3"], /required option '--source <cluster\[:db,db\]>' not specified/],
    [["provision-replica", "db3", "--source", "p1:-x"], /databases/],
    [["add-source", "db3"], /required option '--source <cluster\[:db,db\]>' not specified/],
    [["add-source", "db3", "--source", "p3:a b"], /databases/],
    [["remove-source", "db3"], /required option '--source <cluster>' not specified/],
    [["remove-source", "db3", "--source", "p.3"], /cluster/],
    [["restart-source", "db3"], /required option '--source <cluster>' not specified/],
  ])("%j is a usage error (exit 2)", async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(message);
  });

  it("exits 4 when NATS cannot be reached, saying where it tried", async () => {
    const r = await cli(["status", "--nats", "nats://127.0.0.1:1"]);
    expect(r.code).toBe(EXIT.unreachable);
    expect(r.stderr).toMatch(
      /^marina: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1 \(from --nats\)/,
    );
    const json = await cli(["--json", "status"], { MARINA_NATS: "nats://127.0.0.1:1" });
    expect(json.code).toBe(EXIT.unreachable);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "NATS_UNREACHABLE" } });
  });
});

describe("provision-replica's --source", () => {
  it.each([
    ["p1", { cluster: "p1" }],
    ["p1:app1", { cluster: "p1", databases: ["app1"] }],
    ["p2:app2,crm", { cluster: "p2", databases: ["app2", "crm"] }],
    ["p2:", { cluster: "p2" }],
  ])("%s", async (text, want) => {
    const { sourceOf } = await import("../src/commands/verb-commands.js");
    expect(sourceOf(text)).toEqual(want);
  });
});
