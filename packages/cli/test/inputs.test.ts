// What was typed → what is sent, and where the connection comes from.
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectionSettings, DEFAULT_NATS } from "../src/connection.js";
import { parseCount, parseDuration } from "../src/durations.js";
import { CliError, EXIT } from "../src/exit-codes.js";
import { checkedPayload, compressionOf } from "../src/payloads.js";
import { parseEnvLines, readSandboxEnv } from "../src/sandbox-env.js";

const usage = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exit).toBe(EXIT.usage);
    return (err as CliError).message;
  }
  throw new Error("no usage error");
};

describe("durations", () => {
  it.each([
    ["30", 30_000],
    ["1.5", 1500],
    ["500ms", 500],
    ["10s", 10_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["0", 0],
  ])("%s is %d ms", (text, ms) => expect(parseDuration(text, "--timeout")).toBe(ms));

  it.each(["", "soon", "10 s", "5x", "-1s"])("%j is refused, naming the flag", (text) => {
    expect(usage(() => parseDuration(text, "--timeout"))).toMatch(/^--timeout: /);
  });

  it("counts are whole numbers", () => {
    expect(parseCount("20", "--last")).toBe(20);
    expect(usage(() => parseCount("2.5", "--last"))).toMatch(/^--last: /);
  });
});

describe("payloads", () => {
  it("leaves out what was not given; Marina applies its defaults", () => {
    expect(
      checkedPayload("switchover", { target: "db2", force: undefined, timeoutMs: undefined }),
    ).toEqual({
      target: "db2",
    });
    expect(checkedPayload("reset-failover-limits", { reason: undefined })).toEqual({});
  });

  it.each([
    ["switchover", { target: "not a name" }, "<target>"],
    ["switchover", { timeoutMs: 5 }, "--phase-timeout"],
    ["rejoin", {}, "<server>"],
    ["flashback", {}, "<server>"],
    ["flashback", { server: "db1;rm" }, "<server>"],
    ["rebuild", { target: "db3", compression: { kind: "zstd", level: 40 } }, "--level"],
    ["cancel", { opId: "a.b" }, "<opId>"],
  ] as const)("%s %j names %s", (verb, fields, flag) => {
    expect(usage(() => checkedPayload(verb, { ...fields }))).toMatch(new RegExp(`^${flag}: `));
  });

  it("compression comes from --compression and --level", () => {
    expect(compressionOf({})).toBeUndefined();
    expect(compressionOf({ compression: "pigz" })).toEqual({ kind: "pigz" });
    expect(compressionOf({ compression: "zstd", level: 3 })).toEqual({ kind: "zstd", level: 3 });
    expect(usage(() => compressionOf({ level: 3 }))).toMatch(/^--level: needs --compression/);
  });
});

describe("connection settings", () => {
  const sandbox = {
    MARINA_NATS: "nats://127.0.0.1:5000",
    MARINA_NATS_USER: "op",
    MARINA_NATS_PASSWORD: "pw",
  };

  it("takes --nats over MARINA_NATS, and the user and password from the environment only", () => {
    const env = { MARINA_NATS: "nats://a:4222", MARINA_NATS_USER: "u", MARINA_NATS_PASSWORD: "p" };
    expect(connectionSettings({ nats: "nats://b:4222,nats://c:4222" }, env, sandbox)).toEqual({
      servers: ["nats://b:4222", "nats://c:4222"],
      user: "u",
      pass: "p",
      from: "--nats",
    });
    expect(connectionSettings({}, env, sandbox)).toMatchObject({
      servers: ["nats://a:4222"],
      from: "MARINA_NATS",
    });
  });

  it("uses a running sandbox's file only when nothing was named", () => {
    expect(connectionSettings({}, {}, sandbox)).toEqual({
      servers: ["nats://127.0.0.1:5000"],
      user: "op",
      pass: "pw",
      from: "sandbox",
    });
    // A user of one's own is never sent to the server the file names.
    expect(connectionSettings({}, { MARINA_NATS_USER: "prod" }, sandbox)).toEqual({
      servers: [DEFAULT_NATS],
      user: "prod",
      from: "default",
    });
    expect(connectionSettings({}, {}, undefined)).toEqual({
      servers: [DEFAULT_NATS],
      from: "default",
    });
  });

  it("refuses an empty server list and passes the CA file on", () => {
    expect(usage(() => connectionSettings({ nats: " , " }, {}))).toMatch(/^--nats: /);
    expect(connectionSettings({ natsCa: "/ca.pem" }, {})).toMatchObject({ caFile: "/ca.pem" });
    expect(connectionSettings({}, { MARINA_NATS_CA: "/x.pem" })).toMatchObject({
      caFile: "/x.pem",
    });
  });

  it("reads the sandbox's file when it is this user's and its sandbox runs", () => {
    const dir = mkdtempSync(join(tmpdir(), "marina-cli-test-"));
    const file = join(dir, "marina-sandbox.env");
    const text = (pid: number) =>
      `# pnpm sandbox\nMARINA_SANDBOX_PID=${pid}\nMARINA_NATS='nats://127.0.0.1:5000'\nexport MARINA_NATS_USER=op\n`;
    writeFileSync(file, text(process.pid), { mode: 0o600 });
    expect(readSandboxEnv(file)).toMatchObject({
      MARINA_NATS: "nats://127.0.0.1:5000",
      MARINA_NATS_USER: "op",
    });
    chmodSync(file, 0o666);
    expect(readSandboxEnv(file)).toBeUndefined(); // others may write it: not trusted
    writeFileSync(file, text(2 ** 22 + 17), { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(readSandboxEnv(file)).toBeUndefined(); // its sandbox is gone
    expect(readSandboxEnv(join(dir, "none"))).toBeUndefined();
    expect(parseEnvLines("A=1\nB='two words'\n# C=3\nnot a line")).toEqual({
      A: "1",
      B: "two words",
    });
  });
});
