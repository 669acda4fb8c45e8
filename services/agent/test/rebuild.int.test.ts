import { existsSync } from "node:fs";
import { join } from "node:path";
import { AgentHeartbeatMessage, mustParse, subjects } from "@marina/contracts";
import { checksumTables, gtidOf, type MariaNode, writeRows } from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProgressMessage, agentSubjects, type RunningAgent } from "../src/index.js";
import { makeTestCerts } from "./certs.js";
import {
  converge,
  DeciderClient,
  hostOf,
  rebuildViaAgents,
  repoint,
  sqlThreadRunning,
  startAgents,
  waitFor,
} from "./helpers.js";

// A 3-node lab, one agent per node (each node is its own "host"), and the test playing the
// decider: receive-backup on the target's agent, send-backup on the donor's, then the SQL
// a decider sends through executors (gtid_slave_pos, CHANGE MASTER, START SLAVE).

const TABLES = ["lab_rows", "app.bulk", "app.flat"];

describe("rebuild through agents", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 3, nats: true });
  let agents: Map<string, RunningAgent>;
  let client: DeciderClient;
  const nodes = () => getLab().nodes as [MariaNode, MariaNode, MariaNode];

  beforeAll(async () => {
    const lab = getLab();
    const [db1] = nodes();
    // Every agent gets TLS files; a stream uses them only when the request asks for tls.
    const tls = await makeTestCerts(join(lab.dir, "certs"));
    agents = await startAgents(lab, { tls });
    client = await DeciderClient.connect(lab.nats!.url);
    await writeRows(db1, 50);
    // Some bulk so a transfer takes a moment: ~24 MB InnoDB, ~8 MB MyISAM (the MyISAM
    // table is copied while --safe-slave-backup holds the SQL thread stopped).
    await db1.query(
      "CREATE TABLE app.bulk (id INT PRIMARY KEY AUTO_INCREMENT, b VARBINARY(1024)) ENGINE=InnoDB",
    );
    await db1.query("INSERT INTO app.bulk (b) SELECT RANDOM_BYTES(1000) FROM app.seq_1_to_24000");
    await db1.query(
      "CREATE TABLE app.flat (id INT PRIMARY KEY AUTO_INCREMENT, b VARBINARY(1024)) ENGINE=MyISAM",
    );
    await db1.query("INSERT INTO app.flat (b) SELECT RANDOM_BYTES(1000) FROM app.seq_1_to_8000");
    await converge(lab, db1);
  }, 180_000);

  afterAll(async () => {
    await client?.close();
    for (const a of agents?.values() ?? []) await a.stop();
  }, 120_000);

  async function expectSameAsPrimary(target: MariaNode): Promise<void> {
    const [db1] = nodes();
    await converge(getLab(), db1);
    const want = (await gtidOf(db1)).binlogPos;
    expect((await gtidOf(target)).currentPos).toBe(want);
    expect(await checksumTables(target, TABLES)).toEqual(await checksumTables(db1, TABLES));
  }

  it("rebuilds a diverged replica from another replica", async () => {
    const [db1, db2, db3] = nodes();
    // Diverge db3: a local write with read_only off (its own GTID, unknown to the primary).
    await db3.query("SET GLOBAL read_only = 0");
    await db3.query("CREATE TABLE app.diverged (i INT PRIMARY KEY) ENGINE=InnoDB");
    await db3.query("INSERT INTO app.diverged VALUES (1)");
    await writeRows(db1, 10);
    const before = await gtidOf(db3);
    expect(before.binlogPos).toMatch(/0-3-/);

    const r = await rebuildViaAgents(client, db3, db2);
    expect(r.donor.ok, JSON.stringify(r.donor.error)).toBe(true);
    expect(r.target.ok, JSON.stringify(r.target.error)).toBe(true);
    const gtid = r.target.data.gtid as string;
    expect(gtid).toMatch(/^0-1-\d+$/);
    expect(db3.isRunning()).toBe(true);
    await repoint(db3, db1, gtid);

    await expectSameAsPrimary(db3);
    const [gone] = await db3.query<{ n: number }[]>(
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema='app' AND table_name='diverged'",
    );
    expect(gone?.n).toBe(0);
    expect(await sqlThreadRunning(db2)).toBe(true);
    expect(existsSync(join(db3.datadir, ".marina-rebuild.json"))).toBe(false);
  });

  it("rebuilds a replica from the primary, with pigz compression", async () => {
    const [db1, db2] = nodes();
    await writeRows(db1, 10);
    const r = await rebuildViaAgents(client, db2, db1, { compression: { kind: "pigz", level: 1 } });
    expect(r.donor.ok, JSON.stringify(r.donor.error)).toBe(true);
    expect(r.target.ok, JSON.stringify(r.target.error)).toBe(true);
    await repoint(db2, db1, r.target.data.gtid as string);
    await writeRows(db1, 5);
    await expectSameAsPrimary(db2);
  });

  it("rebuilds over a TLS stream (socat OPENSSL, both ends verified), with zstd", async () => {
    const [db1, , db3] = nodes();
    await writeRows(db1, 7);
    const r = await rebuildViaAgents(client, db3, db1, {
      tls: true,
      compression: { kind: "zstd", level: 1 },
    });
    expect(r.donor.ok, JSON.stringify(r.donor.error)).toBe(true);
    expect(r.target.ok, JSON.stringify(r.target.error)).toBe(true);
    await repoint(db3, db1, r.target.data.gtid as string);
    await expectSameAsPrimary(db3);
  });

  it("a plain-TCP donor cannot feed a TLS listener", async () => {
    const [db1, , db3] = nodes();
    const recvOp = "recv-tls-mismatch";
    const done = client.waitDone(hostOf(db3), recvOp);
    const accepted = await client.request(
      hostOf(db3),
      { action: "receive-backup", server: db3.name, compression: { kind: "none" }, tls: true },
      { opId: recvOp },
    );
    expect(accepted.ok, JSON.stringify(accepted.error)).toBe(true);
    const sendOp = "send-tls-mismatch";
    const sendDone = client.waitDone(hostOf(db1), sendOp);
    const sent = await client.request(
      hostOf(db1),
      {
        action: "send-backup",
        server: db1.name,
        compression: { kind: "none" },
        tls: false,
        to: { address: "127.0.0.1", port: accepted.data.port as number },
      },
      { opId: sendOp },
    );
    // Either refused at connect, or the stream fails once the handshake does.
    if (sent.ok) expect((await sendDone).ok).toBe(false);
    const t = await done;
    expect(t.ok).toBe(false);
    // Recover db3 for the tests after this one.
    const r = await rebuildViaAgents(client, db3, db1);
    expect(r.target.ok, JSON.stringify(r.target.error)).toBe(true);
    await repoint(db3, db1, r.target.data.gtid as string);
    await expectSameAsPrimary(db3);
  });

  it("reports the servers in its heartbeat and status", async () => {
    const [, , db3] = nodes();
    const status = await client.request(hostOf(db3), { action: "status" });
    expect(status.ok).toBe(true);
    const servers = status.data.servers as {
      name: string;
      mariadbdRunning: boolean;
      pid: number;
    }[];
    expect(servers).toEqual([
      expect.objectContaining({ name: db3.name, mariadbdRunning: true, pid: db3.pid }),
    ]);
    const tools = status.data.tools as Record<string, string | null>;
    expect(tools.socat).toMatch(/socat/);
    expect(tools["mariadb-backup"]).toMatch(/10\.\d+/);

    const sub = client.nc.subscribe(subjects.agentHeartbeat(hostOf(db3)), { max: 1 });
    for await (const m of sub) {
      const hb = mustParse(AgentHeartbeatMessage, m.json()).payload;
      expect(hb.servers).toEqual([
        { name: db3.name, datadir: db3.datadir, mariadbdRunning: true, pid: db3.pid },
      ]);
      expect(hb.busy).toEqual([]);
      expect(hb.tools.mbstream).toMatch(/mbstream/);
    }
  });

  it("cancel mid-stream leaves the donor replicating and the target marked failed", async () => {
    const [db1, db2, db3] = nodes();
    const recvOp = "recv-cancel";
    const sendOp = "send-cancel";
    const targetDone = client.waitDone(hostOf(db3), recvOp);
    const donorDone = client.waitDone(hostOf(db2), sendOp);
    // The donor's progress events: cancel only once bytes are flowing.
    const progress = client.nc.subscribe(agentSubjects.progress(hostOf(db2)));
    const flowing = (async () => {
      for await (const m of progress) {
        const p = mustParse(AgentProgressMessage, m.json()).payload;
        if (p.opId === sendOp && p.bytes > 0) {
          progress.unsubscribe();
          return p;
        }
      }
      return undefined;
    })();
    await client.nc.flush();
    // zstd -19 is slow enough (a few MB/s here) that the stream is surely still running.
    const compression = { kind: "zstd", level: 19 } as const;
    const accepted = await client.request(
      hostOf(db3),
      { action: "receive-backup", server: db3.name, compression, tls: false },
      { opId: recvOp },
    );
    expect(accepted.ok, JSON.stringify(accepted.error)).toBe(true);
    const sent = await client.request(
      hostOf(db2),
      {
        action: "send-backup",
        server: db2.name,
        compression,
        tls: false,
        to: { address: "127.0.0.1", port: accepted.data.port as number },
      },
      { opId: sendOp },
    );
    expect(sent.ok, JSON.stringify(sent.error)).toBe(true);
    // Cancel while --safe-slave-backup holds the donor's SQL thread stopped: the case where
    // a killed mariadb-backup would leave replication stopped.
    await waitFor(async () => !(await sqlThreadRunning(db2)), {
      timeoutMs: 120_000,
      intervalMs: 20,
      message: "donor SQL thread stopped by --safe-slave-backup",
    });
    const seen = await flowing;
    expect(seen).toMatchObject({ action: "send-backup", server: db2.name, phase: "streaming" });
    expect(seen?.totalBytes).toBeGreaterThan(seen?.bytes ?? 0);
    const cancel = await client.request(hostOf(db2), { action: "cancel", opId: sendOp });
    expect(cancel.ok, JSON.stringify(cancel.error)).toBe(true);
    const [t, d] = await Promise.all([targetDone, donorDone]);
    expect(d.ok).toBe(false);
    expect(d.error?.code).toBe("CANCELLED");
    expect(t.ok).toBe(false);

    // The donor replicates again and keeps up with the primary.
    await writeRows(db1, 3);
    await waitFor(() => sqlThreadRunning(db2), { timeoutMs: 30_000, message: "donor replicating" });
    // The target is stopped, flagged, and refuses a plain start.
    expect(db3.isRunning()).toBe(false);
    const status = await client.request(hostOf(db3), { action: "status" });
    const [srv] = status.data.servers as { rebuild: { state: string; reason: string } | null }[];
    expect(srv?.rebuild?.state).toBe("failed");
    expect(srv?.rebuild?.reason).toBeTruthy();
    const start = await client.request(hostOf(db3), { action: "start-server", server: db3.name });
    expect(start.ok).toBe(false);
    expect(start.error?.code).toBe("REFUSED");
    expect(db3.isRunning()).toBe(false);

    // A new rebuild recovers the flagged target.
    const r = await rebuildViaAgents(client, db3, db1);
    expect(r.target.ok, JSON.stringify(r.target.error)).toBe(true);
    await repoint(db3, db1, r.target.data.gtid as string);
    await expectSameAsPrimary(db3);
  });

  it("refuses a second receive for a server that is already being rebuilt", async () => {
    const [, , db3] = nodes();
    const first = await client.request(
      hostOf(db3),
      { action: "receive-backup", server: db3.name, compression: { kind: "none" }, tls: false },
      { opId: "recv-busy-1" },
    );
    expect(first.ok, JSON.stringify(first.error)).toBe(true);
    const done = client.waitDone(hostOf(db3), "recv-busy-1");
    const second = await client.request(
      hostOf(db3),
      { action: "receive-backup", server: db3.name, compression: { kind: "none" }, tls: false },
      { opId: "recv-busy-2" },
    );
    expect(second.ok).toBe(false);
    expect(second.error?.code).toBe("OPERATION_IN_PROGRESS");
    // Cleanup: cancel the listener, then rebuild db3 properly for the tests after this one.
    await client.request(hostOf(db3), { action: "cancel", opId: "recv-busy-1" });
    expect((await done).error?.code).toBe("CANCELLED");
    const [db1] = nodes();
    const r = await rebuildViaAgents(client, db3, db1);
    expect(r.target.ok, JSON.stringify(r.target.error)).toBe(true);
    await repoint(db3, db1, r.target.data.gtid as string);
    await expectSameAsPrimary(db3);
  });
});
