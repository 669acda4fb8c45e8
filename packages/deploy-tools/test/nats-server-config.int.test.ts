// The configs marina-nats-config makes are accepted by the real nats-server (`-t` checks
// a config without starting; the install test runs a cluster from them): every $VARIABLE
// resolved from the environment, a missing one refused by name.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { loadConfigFile } from "@marina/contracts";
import { makeLabTls } from "@marina/lab";
import { parseArgs } from "@marina/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { NATS_CONFIG_ARGS, planNatsConfig } from "../src/index.js";
import { parseEnvironmentFile } from "./systemd-unit.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../../..");
const dir = mkdtempSync(join(tmpdir(), "marina-nats-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `nats-server -c file -t` with only `env`: exit code and output. */
async function natsTest(file: string, env: Record<string, string>) {
  try {
    const r = await run("nats-server", ["-c", file, "-t"], {
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin", ...env },
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

function render(extra: string[]) {
  const argv = [
    "--config",
    join(repo, "deploy/marina.example.yaml"),
    "--name",
    "nats1",
    "--listen",
    "127.0.0.1:4222",
    "--cluster-listen",
    "127.0.0.1:6222",
    ...["127.0.0.1:6222", "127.0.0.1:6223", "127.0.0.1:6224"].flatMap((r) => ["--route", r]),
    "--store-dir",
    join(dir, "store"),
    "--env-out",
    join(dir, "unused.env"),
    ...extra,
  ];
  const args = parseArgs(NATS_CONFIG_ARGS, argv);
  let n = 0;
  return planNatsConfig(args, loadConfigFile(args.config), argv, () => `secret${++n}`);
}

describe("nats-server 2.9 accepts marina-nats-config's output", () => {
  it("a rendered node config with its env file is valid", async () => {
    const out = render(["--http", "127.0.0.1:8222", "--agent", "ops1"]);
    const file = join(dir, "nats1.conf");
    writeFileSync(file, out.config);
    const r = await natsTest(file, parseEnvironmentFile(out.env!));
    expect(r.out).toMatch(/is valid/);
    expect(r.code).toBe(0);
  });

  it("with --tls-cert/--tls-key/--tls-ca: clients and verified routes over TLS, accepted", async () => {
    const tls = await makeLabTls(join(dir, "tls"), []);
    const out = render([
      "--tls-cert",
      tls.serverCertFile,
      "--tls-key",
      tls.serverKeyFile,
      "--tls-ca",
      tls.caFile,
    ]);
    expect(out.config).toContain(`tls {\n  cert_file: "${tls.serverCertFile}"`);
    expect(out.config).toMatch(/cluster \{[^}]*tls \{[^}]*verify: true/);
    const file = join(dir, "tls.conf");
    writeFileSync(file, out.config);
    const r = await natsTest(file, parseEnvironmentFile(out.env!));
    expect(r.out).toMatch(/is valid/);
    expect(() => render(["--tls-cert", tls.serverCertFile])).toThrow(/go together/);
  });

  it("a password variable missing from the environment is refused by name", async () => {
    const out = render([]);
    const file = join(dir, "missing.conf");
    writeFileSync(file, out.config);
    const env = parseEnvironmentFile(out.env!);
    delete env.MARINA_NATS_EXECUTOR_PASSWORD;
    const r = await natsTest(file, env);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/MARINA_NATS_EXECUTOR_PASSWORD/);
  });

  it.each(["nats1.conf", "nats2.conf", "nats3.conf"])(
    "deploy/nats/%s is valid with an env file of that shape",
    async (name) => {
      const example = readFileSync(join(repo, "deploy/nats/nats-server.env.example"), "utf8");
      const env = parseEnvironmentFile(
        example.replaceAll("<route password>", "r").replaceAll("<random>", "x"),
      );
      const r = await natsTest(join(repo, "deploy/nats", name), env);
      expect(r.out).toMatch(/is valid/);
    },
  );
});
