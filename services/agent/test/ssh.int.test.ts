import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Compression } from "@marina/contracts";
import { type ServiceHooks, type SshHostConfig, SshHostOps, type SshServer } from "@marina/hostops";
import {
  checksumTables,
  freePort,
  gtidOf,
  type MariaNode,
  startSshd,
  type TestSshd,
  writeRows,
} from "@marina/lab";
import { useLab } from "@marina/lab/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  converge,
  processesMentioning,
  repoint,
  seedBulk,
  sqlThreadRunning,
  waitFor,
} from "./helpers.js";

// Agentless mode: the same rebuild driven over SSH (ssh2) against an sshd on a loopback
// port. The "remote host" is this machine, logged in as root, so `sudo` is off here; the
// sudoers allow-list is checked separately against the same command templates.

const TABLES = ["lab_rows", "app.bulk"];

describe("rebuild over SSH (agentless)", () => {
  const getLab = useLab({ shape: "primary-replicas", nodes: 3, nats: false });
  const nodes = () => getLab().nodes as [MariaNode, MariaNode, MariaNode];
  let sshd: TestSshd;
  let hostCfg: SshHostConfig;
  let ops: SshHostOps;

  const serverOf = (n: MariaNode): SshServer => ({
    name: n.name,
    datadir: n.datadir,
    defaultsFile: n.defaultsFile,
    socket: n.socket,
    osUser: "root",
    osGroup: "root",
    unit: "mariadb",
  });
  // The lab owns its mariadbd processes: stop/start go through it, the rest over SSH.
  const hooks = (n: MariaNode): ServiceHooks => ({
    stop: async () => {
      await n.stop();
    },
    start: () => n.start(),
  });

  beforeAll(async () => {
    const lab = getLab();
    sshd = await startSshd(join(lab.dir, "sshd"));
    hostCfg = {
      endpoint: {
        host: "127.0.0.1",
        port: sshd.port,
        username: "root",
        privateKey: readFileSync(sshd.clientKeyPath, "utf8"),
        hostKeyFingerprint: sshd.hostKeyFingerprint,
      },
      sudo: false,
      backupUser: lab.credentials.marina.user,
      backupPassword: lab.credentials.marina.password,
      tmpDir: join(lab.dir, "ssh-backup-tmp"),
    };
    ops = new SshHostOps(hostCfg);
    const [db1] = nodes();
    await seedBulk(lab, db1, 16000);
  }, 120_000);

  afterAll(async () => {
    ops?.close();
    await sshd?.stop();
  });

  async function rebuildOverSsh(
    target: MariaNode,
    donor: MariaNode,
    compression: Compression = { kind: "none" },
  ) {
    const port = await freePort();
    const handle = await ops.receiveBackup(serverOf(target), {
      port,
      bind: "127.0.0.1",
      compression,
      tls: false,
      service: hooks(target),
    });
    await ops.sendBackup(serverOf(donor), {
      to: { address: "127.0.0.1", port },
      compression,
      tls: false,
    });
    return handle.done;
  }

  it("rebuilds a diverged replica from another replica", async () => {
    const [db1, db2, db3] = nodes();
    await db3.query("SET GLOBAL read_only = 0");
    await db3.query("CREATE TABLE app.diverged (i INT PRIMARY KEY)");
    await db3.query("INSERT INTO app.diverged VALUES (1)");
    expect((await gtidOf(db3)).binlogPos).toMatch(/0-3-/);

    const outcome = await rebuildOverSsh(db3, db2);
    expect(outcome.position.gtid).toMatch(/^0-1-\d+$/);
    expect(outcome.bytes).toBeGreaterThan(0);
    await repoint(db3, db1, outcome.position.gtid);
    await writeRows(db1, 5);
    await converge(getLab(), db1);
    expect((await gtidOf(db3)).currentPos).toBe((await gtidOf(db1)).binlogPos);
    expect(await checksumTables(db3, TABLES)).toEqual(await checksumTables(db1, TABLES));
    expect(await sqlThreadRunning(db2)).toBe(true);
  });

  it("rebuilds from the primary with pigz", async () => {
    const [db1, db2] = nodes();
    const outcome = await rebuildOverSsh(db2, db1, { kind: "pigz", level: 1 });
    await repoint(db2, db1, outcome.position.gtid);
    await converge(getLab(), db1);
    expect(await checksumTables(db2, TABLES)).toEqual(await checksumTables(db1, TABLES));
  });

  it("cancel hangs up the remote pipeline, and a new rebuild recovers", async () => {
    const [db1, , db3] = nodes();
    const ac = new AbortController();
    const handle = await ops.receiveBackup(serverOf(db3), {
      port: await freePort(),
      bind: "127.0.0.1",
      compression: { kind: "none" },
      tls: false,
      service: hooks(db3),
      signal: ac.signal,
    });
    // The listener runs on the "remote" host: find it by its datadir argument.
    const remote = () => processesMentioning(db3.datadir);
    await waitFor(() => remote().length >= 1, { timeoutMs: 10_000, message: "remote mbstream" });
    ac.abort();
    await expect(handle.done).rejects.toMatchObject({ code: "CANCELLED" });
    await waitFor(() => remote().length === 0, {
      timeoutMs: 15_000,
      message: "remote pipeline gone",
    });
    expect(db3.isRunning()).toBe(false);

    const outcome = await rebuildOverSsh(db3, db1);
    await repoint(db3, db1, outcome.position.gtid);
    await converge(getLab(), db1);
    expect(await checksumTables(db3, TABLES)).toEqual(await checksumTables(db1, TABLES));
  });

  it("refuses a host whose key does not match the configured fingerprint", async () => {
    const wrong = new SshHostOps({
      ...hostCfg,
      endpoint: {
        ...hostCfg.endpoint,
        hostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      },
    });
    const [, , db3] = nodes();
    await expect(wrong.checkDatadir(serverOf(db3))).rejects.toMatchObject({
      code: "REFUSED",
      message: expect.stringMatching(/host key .* does not match/),
    });
    wrong.close();
  });

  it("refuses to empty a directory that is not a datadir over SSH, before stopping", async () => {
    const [, , db3] = nodes();
    const notData = { ...serverOf(db3), datadir: join(getLab().dir, "sshd") };
    await expect(
      ops.receiveBackup(notData, {
        port: await freePort(),
        bind: "127.0.0.1",
        compression: { kind: "none" },
        tls: false,
        service: hooks(db3),
      }),
    ).rejects.toMatchObject({ code: "REFUSED" });
    expect(db3.isRunning()).toBe(true);
  });
});
