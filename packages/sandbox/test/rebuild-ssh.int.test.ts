// The decider rebuilds a diverged replica over SSH (agentless), end to end: a real lab
// (3 nodes), an sshd on a loopback port standing for the database hosts, a monitor, two
// executors and a decider whose config has SSH settings. Commands are typed as a person
// would (raw JSON on cmd.<verb>). Simulated: the "hosts" are this machine logged in as
// root (sudo off), and `systemctl stop|start` is replaced by service commands that ask
// the lab (which owns mariadbd) to stop or start the node — see src/agentless.ts.
import { join } from "node:path";
import type { ClusterConfig, CommandReply, MarinaConfig, OperationEvent } from "@marina/contracts";
import { buildApp as buildDecider } from "@marina/decider";
import {
  checksumTables,
  freePort,
  gtidOf,
  waitFor,
  waitForConvergence,
  writeRows,
} from "@marina/lab";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LabServiceBridge,
  startLabServiceBridge,
  startTestSshd,
  type TestSshd,
} from "../src/agentless.js";
import type { Observer } from "../src/observer.js";
import { observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import { waitForReplicaSamples } from "./ha-helpers.js";
import { command, opEnded, replicating, status } from "./scenario-helpers.js";

const TABLES = ["lab_rows", "app.bulk"];
const WRONG_FP = `SHA256:${"A".repeat(43)}`;

describe("the decider rebuilds a diverged server over SSH (agentless)", () => {
  let stack: Stack;
  let obs: Observer;
  let sshd: TestSshd;
  let bridge: LabServiceBridge;
  let deciderN = 0;
  const node = (n: string) => stack.lab.node(n);

  /** The lab's config with SSH settings for every server, the host key as given. */
  async function sshConfig(fingerprint: string): Promise<MarinaConfig> {
    const lab = stack.lab;
    const cluster = stack.config.clusters[0]!;
    const withSsh: ClusterConfig = {
      ...cluster,
      ssh: {
        host: "127.0.0.1",
        port: sshd.port,
        user: "root",
        privateKey: { path: sshd.clientKeyPath },
        hostKeyFingerprint: fingerprint,
        sudo: false,
        osUser: "root",
        osGroup: "root",
        backup: {
          user: lab.credentials.marina.user,
          password: { value: lab.credentials.marina.password },
        },
        tmpDir: join(lab.dir, "ssh-backup-tmp"),
        listenAddress: "127.0.0.1",
        streamPort: await freePort(),
      },
      servers: cluster.servers.map((s) => {
        const n = node(s.name);
        return {
          ...s,
          ssh: {
            datadir: n.datadir,
            defaultsFile: n.defaultsFile,
            socket: n.socket,
            service: bridge.commandsFor(n),
          },
        };
      }),
    };
    return { ...stack.config, clusters: [withSsh] };
  }

  /** Replaces the running decider by one with this config (the state carries over in KV). */
  async function useDecider(config: MarinaConfig): Promise<void> {
    for (const d of stack.deciders) await d.app.close(true).catch(() => {});
    deciderN += 1;
    const id = `decider-ssh-${deciderN}`;
    const nc = await connect({ servers: config.nats.servers, name: id });
    const app = await buildDecider({ config, id, nc, log: stack.log.child({ decider: id }) });
    stack.deciders.push({ id, app, nc });
    await waitFor(
      async () =>
        (await status(stack.nc).catch(() => ({}) as Record<string, unknown>)).primary === "db1",
      { timeoutMs: 30_000, message: `${id} leading with db1 as primary` },
    );
  }

  beforeAll(async () => {
    stack = await startStack({ deciders: 0, lab: { nodes: 3, semiSync: false } });
    obs = observe(stack.nc, "main");
    sshd = await startTestSshd(join(stack.lab.dir, "sshd"));
    bridge = await startLabServiceBridge(join(stack.lab.dir, "ssh-service"), stack.lab.nodes);
    const db1 = node("db1");
    await writeRows(db1, 20);
    await db1.query(
      "CREATE TABLE app.bulk (id INT PRIMARY KEY AUTO_INCREMENT, b VARBINARY(1024)) ENGINE=InnoDB",
    );
    await db1.query("INSERT INTO app.bulk (b) SELECT RANDOM_BYTES(1000) FROM app.seq_1_to_16000");
    await waitForConvergence(stack.lab.nodes, { sources: [db1], timeoutMs: 60_000 });
  }, 180_000);

  afterAll(async () => {
    obs?.close();
    await stack?.close();
    await bridge?.close();
    await sshd?.stop();
  });

  async function diverge(name: string, table: string): Promise<void> {
    const since = performance.now();
    const n = node(name);
    await n.query("SET GLOBAL read_only = 0");
    await n.query(`CREATE TABLE app.${table} (i INT PRIMARY KEY) ENGINE=InnoDB`);
    await n.query(`INSERT INTO app.${table} VALUES (1)`);
    await writeRows(node("db1"), 5);
    await obs.waitFor(
      (o) =>
        o.kind === "event" &&
        o.at >= since &&
        o.event.situation === "ServerDiverged" &&
        o.event.server === name,
      30_000,
      `ServerDiverged for ${name}`,
    );
  }

  async function rebuild(body: string): Promise<OperationEvent> {
    // A decider that just took over may not have judged the target yet: ask again a while.
    let reply: CommandReply | undefined;
    await waitFor(
      async () => {
        reply = await command(stack.nc, "rebuild", body);
        return reply.ok;
      },
      { timeoutMs: 20_000, message: `rebuild accepted: ${JSON.stringify(reply)}` },
    ).catch(() => {});
    if (!reply) throw new Error("no reply");
    expect(reply.ok, JSON.stringify(reply)).toBe(true);
    const opId = reply.ok ? reply.opId! : "";
    return (await obs.waitFor(opEnded(opId), 120_000, `end of rebuild ${opId}`)).operation;
  }

  it("a wrong host key fingerprint: the rebuild fails with the reason, the target untouched", async () => {
    await useDecider(await sshConfig(WRONG_FP));
    await diverge("db3", "errant1");
    const before = await gtidOf(node("db3"));
    const requests = bridge.requests.length;
    const end = await rebuild('{"target":"db3","transport":"ssh"}');
    expect(end.state, end.message).toBe("failed");
    expect(end.error?.code).toBe("REFUSED");
    expect(end.message).toMatch(/host key SHA256:\S+ does not match the configured fingerprint/);
    expect(end.message).toMatch(/db3 was not changed/);
    // Nothing ran on the target: not stopped, same data, same position.
    expect(bridge.requests.length).toBe(requests);
    expect(node("db3").isRunning()).toBe(true);
    const [row] = await node("db3").query<{ n: number }[]>("SELECT COUNT(*) AS n FROM app.errant1");
    expect(Number(row?.n)).toBe(1);
    expect((await gtidOf(node("db3"))).binlogPos).toBe(before.binlogPos);
  });

  it("rebuilds the diverged replica over SSH: the primary's GTID and the same checksums", async () => {
    await useDecider(await sshConfig(sshd.hostKeyFingerprint));
    // db3 is still diverged (errant1) from the test before. The auto-chosen donor is the
    // healthy replica db2 once the new decider has seen it replicate (until then it would
    // fall back to the primary): wait for two such samples of db2.
    await waitFor(() => replicating(node("db2")), {
      timeoutMs: 30_000,
      message: "db2 replicating",
    });
    await waitForReplicaSamples(stack.nc, ["db2"], node("db1").port);
    const requests = bridge.requests.length;
    const end = await rebuild('{"target":"db3","transport":"ssh"}');
    expect(end.state, end.message).toBe("succeeded");
    expect(end.servers).toEqual({ target: "db3", source: "db2" });
    expect(end.message).toMatch(/db3 rebuilt from db2 .* replicates from db1/);
    const phases = obs
      .operations()
      .filter((o) => o.opId === end.opId)
      .map((o) => o.phase);
    expect([...new Set(phases)]).toEqual(["start", "receive", "send", "stream", "attach"]);
    // The service commands ran over SSH: stop, then start after the restore.
    expect(bridge.requests.slice(requests)).toEqual(["stop db3", "start db3"]);

    const db1 = node("db1");
    const db3 = node("db3");
    await waitFor(() => replicating(db3), { timeoutMs: 30_000, message: "db3 replicating" });
    await writeRows(db1, 3);
    await waitForConvergence(stack.lab.nodes, { sources: [db1], timeoutMs: 60_000 });
    expect((await gtidOf(db3)).currentPos).toBe((await gtidOf(db1)).binlogPos);
    expect(await checksumTables(db3, TABLES)).toEqual(await checksumTables(db1, TABLES));
    const [gone] = await db3.query<{ n: number }[]>(
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema='app' AND table_name='errant1'",
    );
    expect(Number(gone?.n)).toBe(0);
    expect(await db3.query<{ ro: number }[]>("SELECT @@global.read_only AS ro")).toEqual([
      { ro: 1 },
    ]);
    await waitFor(() => replicating(node("db2")), {
      timeoutMs: 30_000,
      message: "db2 replicating",
    });
    expect((await status(stack.nc)).diverged).toEqual({});
  });

  it("a cancel mid-stream hangs up the SSH channels: the donor replicates, the target stays flagged", async () => {
    await diverge("db3", "errant2");
    // zstd -19 streams at a few MB/s here: the stream surely runs when the cancel lands.
    let reply: CommandReply | undefined;
    await waitFor(
      async () => {
        reply = await command(
          stack.nc,
          "rebuild",
          '{"target":"db3","source":"db2","transport":"ssh","compression":{"kind":"zstd","level":19}}',
        );
        return reply.ok || reply.error.path !== "source";
      },
      { timeoutMs: 15_000, message: "db2 accepted as a source" },
    );
    expect(reply?.ok, JSON.stringify(reply)).toBe(true);
    const opId = reply?.ok ? reply.opId! : "";
    await obs.waitFor(
      (o) =>
        o.kind === "operation" &&
        o.operation.opId === opId &&
        o.operation.phase === "stream" &&
        (o.operation.progress?.bytes ?? 0) > 0,
      60_000,
      "progress of the stream",
    );
    const cancel = await command(stack.nc, "cancel", JSON.stringify({ opId, reason: "test" }));
    expect(cancel, JSON.stringify(cancel)).toMatchObject({ ok: true, opId });
    const end = await obs.waitFor(opEnded(opId), 90_000, "end of the cancelled rebuild");
    expect(end.operation.state, end.operation.message).toBe("cancelled");
    expect(end.operation.message).toMatch(/db3 stays flagged/);
    expect(end.operation.message).toMatch(/db2 replicates again/);
    await writeRows(node("db1"), 3);
    await waitFor(() => replicating(node("db2")), {
      timeoutMs: 30_000,
      message: "db2 replicating",
    });
    expect(node("db3").isRunning()).toBe(false);
    expect(Object.keys((await status(stack.nc)).diverged as object)).toEqual(["db3"]);
  });
});
