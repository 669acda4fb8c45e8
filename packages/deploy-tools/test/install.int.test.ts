// deploy/install.sh end to end: install into a temporary prefix, config dir and unit dir;
// a second run keeps every edited file; a 3-node NATS cluster from marina-nats-config's
// configs and every Marina service, each started from the INSTALLED tree exactly as its
// unit's ExecStart and EnvironmentFile say (no init system here), against a lab of three
// mariadbd; kill -9 of the primary; the new primary in the published topology.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { freePorts, type Lab, readNatsInfo, startLab, waitFor } from "@marina/lab";
import { type Observer, observe } from "@marina/sandbox";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_HOST, agentConfigFor, envFilesFor, marinaConfigFor } from "./lab-install-config.js";
import {
  parseEnvironmentFile,
  parseServiceUnit,
  type ServiceCommand,
  unitEnvironment,
} from "./systemd-unit.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../../..");
const SERVICES = ["marina-agent", "marina-executor", "marina-decider", "marina-monitor"];
const UNITS = [...SERVICES, "nats-server"].map((u) => `${u}.service`).sort();

interface Running {
  readonly name: string;
  readonly child: ChildProcess;
  readonly log: string;
}

describe("deploy/install.sh: an installed Marina runs and fails over", () => {
  let lab: Lab;
  let prefix: string;
  let configDir: string;
  let systemdDir: string;
  let work: string;
  const running: Running[] = [];
  let nc: NatsConnection | undefined;
  let obs: Observer | undefined;

  const install = () =>
    run(
      "bash",
      [
        join(repo, "deploy/install.sh"),
        "--prefix",
        prefix,
        "--config-dir",
        configDir,
        "--systemd-dir",
        systemdDir,
      ],
      { cwd: work },
    );

  /** Starts `cmd` as systemd would: its argv, its EnvironmentFile(s), a bare PATH. */
  function startService(name: string, cmd: ServiceCommand): Running {
    const log = join(work, "logs", `${name}.log`);
    const fd = openSync(log, "a");
    const child = spawn(cmd.argv[0]!, cmd.argv.slice(1), {
      env: { PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", ...unitEnvironment(cmd) },
      stdio: ["ignore", fd, fd],
    });
    const r = { name, child, log };
    running.push(r);
    return r;
  }

  const unit = (name: string) =>
    parseServiceUnit(readFileSync(join(systemdDir, `${name}.service`), "utf8"));

  /** The last lines of every service's log: what a failed wait needs to be understood. */
  function logs(): string {
    return running
      .map((r) => {
        const lines = readFileSync(r.log, "utf8").trimEnd().split("\n").slice(-15);
        return `--- ${r.name} (exit ${r.child.exitCode ?? r.child.signalCode ?? "-"})\n${lines.join("\n")}`;
      })
      .join("\n");
  }

  beforeAll(async () => {
    lab = await startLab({ nodes: 3, semiSync: true, nats: false });
    // Inside the lab's tree: removed with it, and every process started here names it in
    // its command line, so the integration run's leftover check covers them too.
    work = join(lab.dir, "install");
    prefix = join(work, "opt", "marina");
    configDir = join(work, "etc", "marina");
    systemdDir = join(work, "systemd");
    for (const d of ["logs", "nats"]) await run("mkdir", ["-p", join(work, d)]);
  });

  afterAll(async () => {
    obs?.close();
    await nc?.close().catch(() => {});
    const stopped = running.map(
      (r) =>
        new Promise<void>((done) => {
          if (r.child.exitCode !== null || r.child.signalCode !== null) return done();
          const kill = setTimeout(() => r.child.kill("SIGKILL"), 10_000);
          r.child.once("exit", () => {
            clearTimeout(kill);
            done();
          });
          r.child.kill("SIGTERM");
        }),
    );
    await Promise.all(stopped);
    await lab?.close();
  });

  it("installs the built tree, the config files once, and the units pointing at them", async () => {
    const first = await install();
    for (const f of ["marina.yaml", "marina.env", "agent.yaml", "agent.env"]) {
      expect(first.stdout).toContain(`created ${join(configDir, f)}`);
    }
    for (const s of ["monitor", "decider", "executor", "agent"]) {
      expect(existsSync(join(prefix, "services", s, "dist", "main.js"))).toBe(true);
    }
    // production dependencies only: no test tooling, no lab
    const store = readdirSync(join(prefix, "node_modules", ".pnpm"));
    expect(store.some((p) => p.startsWith("mariadb@"))).toBe(true);
    expect(store.filter((p) => /^(vitest|typescript|@biomejs|fast-check)[@+]/.test(p))).toEqual([]);
    expect(existsSync(join(prefix, "bin", "marina"))).toBe(true);
    expect(existsSync(join(prefix, "packages", "lab"))).toBe(false);
    expect(existsSync(join(prefix, "packages", "sandbox"))).toBe(false);
    expect(statSync(join(configDir, "marina.env")).mode & 0o777).toBe(0o600);
    expect(statSync(join(configDir, "agent.env")).mode & 0o777).toBe(0o600);

    expect(readdirSync(systemdDir).sort()).toEqual(UNITS);
    for (const name of SERVICES) {
      const cmd = unit(name);
      expect(cmd.argv[1]!.startsWith(`${prefix}/services/`)).toBe(true);
      expect(existsSync(cmd.argv[1]!)).toBe(true);
      expect(cmd.argv[cmd.argv.indexOf("--config") + 1]!.startsWith(`${configDir}/`)).toBe(true);
      expect(cmd.environmentFiles.every((f) => f.path.startsWith(`${configDir}/`))).toBe(true);
    }
    expect(unit("nats-server").argv).toEqual([
      "/usr/sbin/nats-server",
      "-c",
      join(configDir, "nats-server.conf"),
    ]);
  });

  it("configured for the lab, a second install keeps every file; the services fail over", async () => {
    const [c1, c2, c3, r1, r2, r3] = await freePorts(6);
    const clientPorts = [c1!, c2!, c3!];
    const routePorts = [r1!, r2!, r3!];
    const natsUrls = clientPorts.map((p) => `nats://127.0.0.1:${p}`);
    const creds = lab.credentials;

    // The operator's edits: the lab's servers, one agent serving all three (one host here).
    const json = (o: object) => `${JSON.stringify(o, null, 2)}\n`;
    writeFileSync(join(configDir, "marina.yaml"), json(marinaConfigFor(lab, natsUrls)));
    writeFileSync(
      join(configDir, "agent.yaml"),
      json(agentConfigFor(lab, natsUrls, join(work, "agent-tmp"))),
    );

    // NATS: one config per node from the INSTALLED marina-nats-config; the env file once.
    const natsEnvFile = join(configDir, "nats-server.env");
    const natsConfigs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const out = await run(join(prefix, "bin", "marina-nats-config"), [
        "--config",
        join(configDir, "marina.yaml"),
        "--name",
        `nats${i + 1}`,
        "--listen",
        `127.0.0.1:${clientPorts[i]}`,
        "--cluster-listen",
        `127.0.0.1:${routePorts[i]}`,
        ...routePorts.flatMap((p) => ["--route", `127.0.0.1:${p}`]),
        "--store-dir",
        join(work, "nats", `store${i + 1}`),
        ...(i === 0 ? ["--env-out", natsEnvFile] : []),
      ]);
      const file = join(work, "nats", `nats${i + 1}.conf`);
      writeFileSync(file, out.stdout);
      natsConfigs.push(file);
    }
    expect(statSync(natsEnvFile).mode & 0o777).toBe(0o600);
    // Its passwords are in use now: --env-out never replaces the file.
    const envText = readFileSync(natsEnvFile, "utf8");
    const again = run(join(prefix, "bin", "marina-nats-config"), [
      ...["--config", join(configDir, "marina.yaml"), "--name", "nats1", "--route", "h:1"],
      ...["--env-out", natsEnvFile],
    ]);
    await expect(again).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/exists; not overwritten/),
    });
    expect(readFileSync(natsEnvFile, "utf8")).toBe(envText);
    const natsEnv = parseEnvironmentFile(readFileSync(natsEnvFile, "utf8"));
    for (const file of natsConfigs) {
      const text = readFileSync(file, "utf8");
      for (const secret of Object.values(natsEnv)) expect(text).not.toContain(secret);
    }

    const envFiles = envFilesFor(lab, natsEnv);
    writeFileSync(join(configDir, "marina.env"), envFiles.marina);
    writeFileSync(join(configDir, "agent.env"), envFiles.agent);

    // A second install: new code, every file of the operator's kept as it is.
    const edited = ["marina.yaml", "marina.env", "agent.yaml", "agent.env"].map((f) => [
      f,
      readFileSync(join(configDir, f), "utf8"),
    ]);
    const second = await install();
    for (const [f, text] of edited) {
      expect(second.stdout).toContain(`kept ${join(configDir, f!)} (it exists; not overwritten)`);
      expect(readFileSync(join(configDir, f!), "utf8")).toBe(text);
    }
    expect(second.stdout).not.toContain("created");

    // nats-server as its unit runs it, one config per node (the only path substituted).
    const natsUnit = unit("nats-server");
    const unitConfig = join(configDir, "nats-server.conf");
    for (const [i, file] of natsConfigs.entries()) {
      startService(`nats${i + 1}`, {
        ...natsUnit,
        argv: natsUnit.argv.map((a) => (a === unitConfig ? file : a)),
      });
    }
    await waitFor(
      async () => {
        const infos = await Promise.all(clientPorts.map((p) => readNatsInfo("127.0.0.1", p, 500)));
        return infos.every((i) => (i.connect_urls?.length ?? 0) === 3);
      },
      { timeoutMs: 20_000, message: "the NATS cluster formed", describe: logs },
    );

    // Every Marina service, exactly as its unit says.
    for (const name of SERVICES) startService(name, unit(name));

    // Watched as an operator would: the operator identity from nats-server.env.
    nc = await connect({
      servers: natsUrls,
      user: "marina-operator",
      pass: natsEnv.MARINA_NATS_OPERATOR_PASSWORD!,
      name: "install-test-operator",
    });
    const heartbeats: string[] = [];
    nc.subscribe(`marina.v1.agent.${AGENT_HOST}.heartbeat`, {
      callback: (_e, m) => {
        heartbeats.push(m.subject);
      },
    });
    obs = observe(nc, "main");
    const wait = (match: Parameters<Observer["waitFor"]>[0], ms: number, what: string) =>
      obs!.waitFor(match, ms, what).catch((err: Error) => {
        throw new Error(`${err.message}\n${logs()}`);
      });

    await wait(
      (o) => o.kind === "topology" && o.topology.primary === "db1",
      60_000,
      "the first topology, db1 primary",
    );
    await waitFor(() => heartbeats.length > 0, {
      timeoutMs: 10_000,
      message: "a heartbeat of the installed agent",
      describe: logs,
    });

    await lab.node("db1").kill9();
    const promoted = await wait(
      (o) => o.kind === "topology" && o.topology.primary !== null && o.topology.primary !== "db1",
      30_000,
      "a topology with a new primary",
    );
    const primary = promoted.kind === "topology" ? promoted.topology.primary! : "";
    expect(["db2", "db3"]).toContain(primary);
    await waitFor(
      async () => {
        const [row] = (await lab.node(primary).query("SELECT @@read_only AS ro")) as Array<{
          ro: number;
        }>;
        return row?.ro === 0;
      },
      { timeoutMs: 10_000, message: `${primary} writable`, describe: logs },
    );

    // The installed command line, as an operator runs it: the new primary in its status.
    const status = await run(join(prefix, "bin", "marina"), ["--json", "status"], {
      env: {
        PATH: "/usr/local/bin:/usr/bin:/bin",
        MARINA_NATS: natsUrls.join(","),
        MARINA_NATS_USER: "marina-operator",
        MARINA_NATS_PASSWORD: natsEnv.MARINA_NATS_OPERATOR_PASSWORD!,
      },
    });
    expect((JSON.parse(status.stdout) as { primary: string }).primary).toBe(primary);

    // The configs give each node its own client address: Marina's streams are R3.
    const jsm = await jetstreamManager(nc);
    for (const stream of ["MARINA_EVENTS", "MARINA_HEALTH"]) {
      expect((await jsm.streams.info(stream)).config.num_replicas, stream).toBe(3);
    }

    // Still running, under permissions that were enough, and no secret in any log.
    expect(running.filter((r) => r.child.exitCode !== null || r.child.signalCode !== null)).toEqual(
      [],
    );
    const secrets = [...Object.values(natsEnv), creds.marina.password, creds.repl.password].filter(
      (s) => s.length >= 8,
    );
    for (const r of running) {
      const text = readFileSync(r.log, "utf8");
      expect(
        text.split("\n").filter((l) => /Violation/.test(l)),
        r.name,
      ).toEqual([]);
      for (const s of secrets) expect(text.includes(s), `${r.name} logged a secret`).toBe(false);
    }
    // No anonymous access: a client without a user is refused.
    await expect(connect({ servers: natsUrls[0]!, reconnect: false })).rejects.toThrow(
      /authorization/i,
    );
  });
});
