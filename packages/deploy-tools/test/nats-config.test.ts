import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfigFile, MarinaConfig, natsPermissions } from "@marina/contracts";
import { parseArgs } from "@marina/runtime";
import { describe, expect, it } from "vitest";
import {
  agentHostsOf,
  identitiesOf,
  NATS_CONFIG_ARGS,
  parseHostPort,
  passwordVar,
  planNatsConfig,
  planUsers,
} from "../src/index.js";

const repo = resolve(import.meta.dirname, "../../..");

const config = MarinaConfig.parse({
  clusters: ["main", "billing"].map((name, c) => ({
    name,
    servers: [1, 2].map((i) => ({
      name: `db${i}`,
      host: `10.0.${c}.${i}`,
      // billing's db2 has no agent; db1 of both clusters share host h1
      ...(c === 1 && i === 2 ? {} : { agentHost: i === 1 ? "h1" : `h-${c}${i}` }),
    })),
    admin: { user: "marina", password: { env: "A" } },
    replication: { user: "repl", password: { env: "R" } },
  })),
});

const ROUTES = ["10.0.0.11:6222", "10.0.0.12:6222", "10.0.0.13:6222"];

function plan(extra: string[] = [], secret = () => "s3cret") {
  const argv = [
    "--config",
    "marina.yaml",
    "--name",
    "nats1",
    ...ROUTES.flatMap((r) => ["--route", r]),
    ...extra,
  ];
  return planNatsConfig(parseArgs(NATS_CONFIG_ARGS, argv), config, argv, secret);
}

describe("NATS users of an installation", () => {
  it("has one user per service role and one per agent host the config names", () => {
    expect(agentHostsOf(config)).toEqual(["h1", "h-02"]);
    expect(planUsers(agentHostsOf(config)).map((u) => [u.user, u.passwordVar])).toEqual([
      ["marina-monitor", "MARINA_NATS_MONITOR_PASSWORD"],
      ["marina-decider", "MARINA_NATS_DECIDER_PASSWORD"],
      ["marina-executor", "MARINA_NATS_EXECUTOR_PASSWORD"],
      ["marina-operator", "MARINA_NATS_OPERATOR_PASSWORD"],
      ["marina-observer", "MARINA_NATS_OBSERVER_PASSWORD"],
      ["marina-veto-responder", "MARINA_NATS_VETO_RESPONDER_PASSWORD"],
      ["marina-agent-h1", "MARINA_NATS_AGENT_H1_PASSWORD"],
      ["marina-agent-h-02", "MARINA_NATS_AGENT_H_02_PASSWORD"],
    ]);
  });

  it("refuses two agent hosts that would share a password variable", () => {
    expect(passwordVar("agent", "db-1")).toBe(passwordVar("agent", "db_1"));
    expect(() => planUsers(["db-1", "db_1"])).toThrow(/"db-1" and "db_1" map to the same variable/);
  });

  it("gives each user its role's permissions: services scoped to the clusters, agents to their host", () => {
    const ids = identitiesOf(planUsers(["h1"]), ["main", "billing"]);
    const scope = { clusters: ["main", "billing"] };
    expect(ids.map((i) => [i.user, i.password, i.permissions])).toEqual([
      ["marina-monitor", "$MARINA_NATS_MONITOR_PASSWORD", natsPermissions("monitor", scope)],
      ["marina-decider", "$MARINA_NATS_DECIDER_PASSWORD", natsPermissions("decider", scope)],
      ["marina-executor", "$MARINA_NATS_EXECUTOR_PASSWORD", natsPermissions("executor", scope)],
      ["marina-operator", "$MARINA_NATS_OPERATOR_PASSWORD", natsPermissions("operator", scope)],
      ["marina-observer", "$MARINA_NATS_OBSERVER_PASSWORD", natsPermissions("observer", scope)],
      [
        "marina-veto-responder",
        "$MARINA_NATS_VETO_RESPONDER_PASSWORD",
        natsPermissions("veto-responder", scope),
      ],
      [
        "marina-agent-h1",
        "$MARINA_NATS_AGENT_H1_PASSWORD",
        natsPermissions("agent", { hosts: ["h1"] }),
      ],
    ]);
  });
});

describe("marina-nats-config", () => {
  it("renders the node, its routes and every user, with passwords as $VARIABLES only", () => {
    const out = plan(["--env-out", "/x/nats.env", "--listen", "10.0.0.11:4222"]);
    const conf = out.config;
    expect(conf).toContain('server_name: "nats1"');
    expect(conf).toContain('listen: "10.0.0.11:4222"');
    expect(conf).toContain('store_dir: "/var/lib/nats/jetstream"');
    expect(conf).toContain('listen: "0.0.0.0:6222"');
    expect(conf).toContain(
      'authorization { user: "marina-route", password: $MARINA_NATS_ROUTE_PASSWORD }',
    );
    expect(conf).toContain(
      "routes: [$MARINA_NATS_ROUTE_1, $MARINA_NATS_ROUTE_2, $MARINA_NATS_ROUTE_3]",
    );
    expect(conf).not.toContain("s3cret");
    expect(conf).not.toMatch(/no_auth_user/);
    const users = [...conf.matchAll(/user: "([^"]+)"\n\s+password: \$([A-Z0-9_]+)/g)];
    expect(users.map((m) => m[1])).toEqual([
      "marina-monitor",
      "marina-decider",
      "marina-executor",
      "marina-operator",
      "marina-observer",
      "marina-veto-responder",
      "marina-agent-h1",
      "marina-agent-h-02",
    ]);
    // every variable the config refers to has a line in the env file, and nothing else does
    const vars = new Set([...conf.matchAll(/\$(MARINA_[A-Z0-9_]+)/g)].map((m) => m[1]));
    const env = Object.fromEntries(
      out
        .env!.split("\n")
        .filter((l) => /^[A-Z]/.test(l))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(new Set(Object.keys(env))).toEqual(vars);
    expect(env.MARINA_NATS_ROUTE_2).toBe("nats-route://marina-route:s3cret@10.0.0.12:6222");
  });

  it("makes a fresh secret for every password, the route URLs sharing the route's", () => {
    let n = 0;
    const out = plan(["--env-out", "/x"], () => `p${++n}`);
    const values = out.env!.split("\n").filter((l) => /^MARINA_NATS_[A-Z0-9_]+_PASSWORD=/.test(l));
    expect(new Set(values.map((l) => l.split("=")[1])).size).toBe(values.length);
    expect(out.env).toMatch(/MARINA_NATS_ROUTE_1=nats-route:\/\/marina-route:p1@10\.0\.0\.11:6222/);
  });

  it("takes the agent hosts from --agent when given, and says when there are none", () => {
    expect(plan(["--agent", "ops1"]).config).toMatch(/"marina-agent-ops1"/);
    expect(plan(["--agent", "ops1"]).config).not.toMatch(/marina-agent-h1/);
    const none = planNatsConfig(
      parseArgs(NATS_CONFIG_ARGS, ["--config", "c", "--name", "n", "--route", "h:1"]),
      MarinaConfig.parse({
        clusters: [{ ...config.clusters[0], servers: [{ name: "a", host: "h" }] }],
      }),
      [],
      () => "x",
    );
    expect(none.notes).toEqual([expect.stringMatching(/no agent users/)]);
    expect(none.env).toBeUndefined();
  });

  it.each([
    [["--route", "nohost"], "--route"],
    [["--route", "h:0"], "--route"],
    [["--route", "h:65536"], "--route"],
    [["--route", "a b:1"], "--route"],
    [["--listen", "h"], "--listen"],
    [["--http", "[zz]:1"], "--http"],
    [["--store-dir", "relative/dir"], "--store-dir"],
    [["--store-dir", '/a"b'], "--store-dir"],
    [["--agent", "a.b"], "--agent"],
  ])("%j is refused naming %s", (extra, path) => {
    expect(() => plan(extra)).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED", path }));
  });

  it("reads host:port, IPv6 in brackets", () => {
    expect(parseHostPort("[::1]:4222", "listen")).toEqual({ host: "::1", port: 4222 });
    expect(parseHostPort("nats-1.internal:6222", "route")).toEqual({
      host: "nats-1.internal",
      port: 6222,
    });
  });
});

describe("deploy/nats examples", () => {
  const dir = join(repo, "deploy", "nats");
  const confs = readdirSync(dir).filter((f) => f.endsWith(".conf"));

  it("are three nodes", () => {
    expect(confs).toEqual(["nats1.conf", "nats2.conf", "nats3.conf"]);
  });

  // Each file names the command that made it: made again, it must come out the same.
  it.each(confs)("%s is what the command in its header makes", (file) => {
    const text = readFileSync(join(dir, file), "utf8");
    const command = /^#\s+marina-nats-config (.+)$/m.exec(text)?.[1];
    expect(command).toBeDefined();
    const argv = command!.split(" ");
    const args = parseArgs(NATS_CONFIG_ARGS, argv);
    const cfg = loadConfigFile(join(repo, args.config));
    const again = planNatsConfig(args, cfg, argv, () => "x").config;
    expect(
      again,
      `deploy/nats/${file} is stale; make it again from the repository root with:\n` +
        `node packages/deploy-tools/dist/nats-config-main.js ${command} > deploy/nats/${file}`,
    ).toBe(text);
  });

  it("nats-server.env.example names exactly the variables the configs use", () => {
    const conf = readFileSync(join(dir, "nats1.conf"), "utf8");
    const used = new Set([...conf.matchAll(/\$(MARINA_[A-Z0-9_]+)/g)].map((m) => m[1]));
    const example = readFileSync(join(dir, "nats-server.env.example"), "utf8");
    const named = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    expect(named).toEqual(used);
  });
});
