import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Compression } from "@marina/contracts";
import {
  checksumTables,
  gtidOf,
  type MariaNode,
  startSshd,
  type TestSshd,
  writeRows,
} from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentConfig, type RunningAgent, startAgent } from "../src/index.js";
import {
  agentConfigFor,
  converge,
  DeciderClient,
  hostOf,
  labControl,
  newOpId,
  processesMentioning,
  repoint,
  seedBulk,
  sqlThreadRunning,
  waitFor,
} from "./helpers.js";

// One marina-agent serving servers it reaches over SSH (host "h-ssh": db2 and db3 through
// an sshd on a loopback port, logged in as root, so sudo is off), next to ordinary local
// agents (db1, db2). The test plays the decider: agent-request messages over real NATS,
// with the lease. Stop/start go through the lab (it owns mariadbd); everything else —
// datadir guard and emptying, the rebuild marker, the streams, prepare, chown, saveDir, the
// SQL over a forward to the server's socket — goes over SSH.

const SSH_HOST = "h-ssh";
const TABLES = ["lab_rows", "app.bulk"];

describe("an agent serving servers over SSH", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 3, nats: true });
  const nodes = () => getLab().nodes as [MariaNode, MariaNode, MariaNode];
  const agents: RunningAgent[] = [];
  let sshd: TestSshd;
  let client: DeciderClient;
  let saveDir: string;

  beforeAll(async () => {
    const lab = getLab();
    const [db1, db2, db3] = nodes();
    sshd = await startSshd(join(lab.dir, "sshd"));
    saveDir = join(lab.dir, "saved-binlogs");
    const log = pino({ level: process.env.AGENT_LOG ?? "silent" });
    for (const n of [db1, db2]) {
      const config = agentConfigFor(lab, n);
      await mkdir(config.tmpDir, { recursive: true });
      agents.push(await startAgent({ config, log, serviceControl: labControl(n) }));
    }
    const base = agentConfigFor(lab, db3);
    const config = AgentConfig.parse({
      ...base,
      host: SSH_HOST,
      // This agent is also a logical rebuild's target, which needs ALL PRIVILEGES: root.
      backup: { user: "root" },
      tmpDir: join(lab.dir, "agent-tmp-ssh"),
      saveDir,
      servers: [db2, db3].map((n) => ({
        ...base.servers[0],
        name: n.name,
        datadir: n.datadir,
        defaultsFile: n.defaultsFile,
        socket: n.socket,
        port: n.port,
        ssh: {
          host: "127.0.0.1",
          port: sshd.port,
          user: "root",
          privateKeyFile: sshd.clientKeyPath,
          hostKeySha256: sshd.hostKeyFingerprint,
          sudo: false,
          advertiseAddress: "127.0.0.1",
          tmpDir: join(lab.dir, `ssh-scratch-${n.name}`),
        },
      })),
    });
    const byName = new Map([db2, db3].map((n) => [n.name, n]));
    agents.push(
      await startAgent({
        config,
        log,
        serviceControl: (s) => labControl(byName.get(s.name)!)(),
      }),
    );
    client = await DeciderClient.connect(lab.nats!.url);
    await seedBulk(lab, db1, 8000);
  }, 180_000);

  afterAll(async () => {
    await client?.close();
    for (const a of agents) await a.stop();
    await sshd?.stop();
  }, 120_000);

  /** receive-backup on `target` (its agent), send-backup on `donor`, both done events. */
  async function rebuild(
    target: { host: string; node: MariaNode },
    donor: { host: string; node: MariaNode },
    o: { compression?: Compression; method?: "physical" | "logical" } = {},
  ) {
    const compression = o.compression ?? { kind: "none" as const };
    const method = o.method ?? "physical";
    const recvOp = newOpId("recv");
    const sendOp = newOpId("send");
    const targetDone = client.waitDone(target.host, recvOp);
    const donorDone = client.waitDone(donor.host, sendOp);
    await client.nc.flush();
    const accepted = await client.request(
      target.host,
      { action: "receive-backup", server: target.node.name, compression, tls: false, method },
      { opId: recvOp },
    );
    expect(accepted.ok, JSON.stringify(accepted.error)).toBe(true);
    const sent = await client.request(
      donor.host,
      {
        action: "send-backup",
        server: donor.node.name,
        compression,
        tls: false,
        method,
        to: { address: accepted.data.address as string, port: accepted.data.port as number },
      },
      { opId: sendOp },
    );
    expect(sent.ok, JSON.stringify(sent.error)).toBe(true);
    const [t, d] = await Promise.all([targetDone, donorDone]);
    expect(d.ok, JSON.stringify(d.error)).toBe(true);
    expect(t.ok, JSON.stringify(t.error)).toBe(true);
    return { target: t, donor: d, accepted };
  }

  async function expectSameAsPrimary(target: MariaNode): Promise<void> {
    const [db1] = nodes();
    await writeRows(db1, 3);
    await converge(getLab(), db1);
    expect((await gtidOf(target)).currentPos).toBe((await gtidOf(db1)).binlogPos);
    expect(await checksumTables(target, TABLES)).toEqual(await checksumTables(db1, TABLES));
  }

  it("reports its SSH servers in status and heartbeat", async () => {
    const r = await client.request(SSH_HOST, { action: "status" });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const servers = r.data.servers as {
      name: string;
      mariadbdRunning: boolean;
      rebuild: unknown;
    }[];
    expect(servers.map((s) => [s.name, s.mariadbdRunning, s.rebuild])).toEqual([
      ["db2", true, null],
      ["db3", true, null],
    ]);
  });

  it("physical rebuild: the target over SSH, the donor a local agent; binlogs saved", async () => {
    const [db1, db2, db3] = nodes();
    await db3.query("SET GLOBAL read_only = 0");
    await db3.query("CREATE TABLE app.diverged (i INT PRIMARY KEY) ENGINE=InnoDB");
    await db3.query("INSERT INTO app.diverged VALUES (1)");
    expect((await gtidOf(db3)).binlogPos).toMatch(/0-3-/);

    const r = await rebuild({ host: SSH_HOST, node: db3 }, { host: hostOf(db2), node: db2 });
    const gtid = r.target.data.gtid as string;
    expect(gtid).toMatch(/^0-1-\d+$/);
    expect(r.target.data.datadirBytes as number).toBeGreaterThan(0);
    // saveDir over SSH: the diverged server's binlogs, copied before the datadir was emptied.
    const saved = r.target.data.savedBinlogs as string;
    expect(saved.startsWith(`${saveDir}/db3-`)).toBe(true);
    expect(readdirSync(saved).some((f) => /^binlog\.\d+$/.test(f))).toBe(true);
    expect(existsSync(join(db3.datadir, ".marina-rebuild.json"))).toBe(false);
    expect(db3.isRunning()).toBe(true);
    await repoint(db3, db1, gtid);
    await expectSameAsPrimary(db3);
    expect(await sqlThreadRunning(db2)).toBe(true);
  });

  it("cancel hangs up the remote pipeline; the marker (over SSH) keeps the server down", async () => {
    const [, , db3] = nodes();
    const op = newOpId("recv-cancel");
    const done = client.waitDone(SSH_HOST, op);
    await client.nc.flush();
    const accepted = await client.request(
      SSH_HOST,
      { action: "receive-backup", server: db3.name, compression: { kind: "none" }, tls: false },
      { opId: op },
    );
    expect(accepted.ok, JSON.stringify(accepted.error)).toBe(true);
    await waitFor(() => processesMentioning(db3.datadir).length >= 1, {
      timeoutMs: 10_000,
      message: "remote mbstream",
    });
    const c = await client.request(SSH_HOST, { action: "cancel", opId: op });
    expect(c.ok, JSON.stringify(c.error)).toBe(true);
    expect((await done).error?.code).toBe("CANCELLED");
    await waitFor(() => processesMentioning(db3.datadir).length === 0, {
      timeoutMs: 15_000,
      message: "remote pipeline gone",
    });
    const marker = JSON.parse(readFileSync(join(db3.datadir, ".marina-rebuild.json"), "utf8"));
    expect(marker).toMatchObject({ opId: op, state: "failed" });
    const start = await client.request(SSH_HOST, { action: "start-server", server: db3.name });
    expect(start.error?.code).toBe("REFUSED");
    const st = await client.request(SSH_HOST, { action: "status" });
    const s3 = (st.data.servers as { name: string; rebuild: { state: string } | null }[]).find(
      (s) => s.name === "db3",
    );
    expect(s3?.rebuild?.state).toBe("failed");
    expect(db3.isRunning()).toBe(false);
  });

  it("physical rebuild with both ends over SSH (pigz) recovers the cancelled target", async () => {
    const [db1, db2, db3] = nodes();
    const r = await rebuild(
      { host: SSH_HOST, node: db3 },
      { host: SSH_HOST, node: db2 },
      { compression: { kind: "pigz", level: 1 } },
    );
    expect(r.target.data.savedBinlogs).toBeNull(); // the target was down: nothing to save
    expect(r.donor.data.totalBytes as number).toBeGreaterThan(0);
    await repoint(db3, db1, r.target.data.gtid as string);
    await expectSameAsPrimary(db3);
    expect(await sqlThreadRunning(db2)).toBe(true);
  });

  it("logical rebuild over SSH (dump from db2 over SSH, load into db3 over SSH)", async () => {
    const [db1, db2, db3] = nodes();
    await db3.query("SET GLOBAL read_only = 0");
    await db3.query("CREATE DATABASE errant");
    await db3.query("CREATE TABLE errant.t (i INT PRIMARY KEY)");
    await db3.query("INSERT INTO errant.t VALUES (1)");
    const r = await rebuild(
      { host: SSH_HOST, node: db3 },
      { host: SSH_HOST, node: db2 },
      { method: "logical", compression: { kind: "zstd", level: 1 } },
    );
    expect(r.target.data.method).toBe("logical");
    expect(r.target.data.dropped).toContain("errant");
    const saved = r.target.data.savedBinlogs as string;
    expect(saved.startsWith(`${saveDir}/db3-`)).toBe(true);
    expect(readdirSync(saved).length).toBeGreaterThan(0);
    await repoint(db3, db1, r.target.data.gtid as string);
    await expectSameAsPrimary(db3);
    const [gone] = await db3.query<{ n: number }[]>(
      "SELECT COUNT(*) AS n FROM information_schema.schemata WHERE schema_name='errant'",
    );
    expect(gone?.n).toBe(0);
  });

  it("an agent pinning another host key refuses the host: nothing runs there", async () => {
    const lab = getLab();
    const [, , db3] = nodes();
    const base = agentConfigFor(lab, db3);
    const wrongHost = "h-ssh-wrong-key";
    const config = AgentConfig.parse({
      ...base,
      host: wrongHost,
      tmpDir: join(lab.dir, "agent-tmp-ssh-wrong"),
      servers: [
        {
          ...base.servers[0],
          ssh: {
            host: "127.0.0.1",
            port: sshd.port,
            user: "root",
            privateKeyFile: sshd.clientKeyPath,
            hostKeySha256: `SHA256:${"A".repeat(43)}`,
            sudo: false,
            tmpDir: join(lab.dir, "ssh-scratch-wrong"),
          },
        },
      ],
    });
    const stopped: string[] = [];
    const agent = await startAgent({
      config,
      log: pino({ level: "silent" }),
      serviceControl: () => ({
        start: async () => {},
        stop: async () => {
          stopped.push("stop");
        },
        status: async () => ({ running: true, pid: null }),
      }),
    });
    agents.push(agent);
    const gtidBefore = (await gtidOf(db3)).currentPos;
    const r = await client.request(wrongHost, {
      action: "receive-backup",
      server: db3.name,
      compression: { kind: "none" },
      tls: false,
    });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe("REFUSED");
    expect(r.error?.message).toMatch(
      /host key SHA256:\S+ does not match the configured fingerprint/,
    );
    expect(stopped).toEqual([]);
    expect(db3.isRunning()).toBe(true);
    expect((await gtidOf(db3)).currentPos).toBe(gtidBefore);
  });
});
