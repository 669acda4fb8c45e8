// pnpm bench rebuild: a replica rebuilt from a ~1 GB primary three ways, interleaved:
//  - marina:    receive-backup + send-backup through two agents over NATS (stop, guarded
//               empty, socat | mbstream, prepare, chown, start);
//  - bare pipe: `mariadb-backup | socat` into `socat | mbstream` typed as a shell line,
//               then --prepare, into a scratch directory: the limit of this machine;
//  - logical:   `mariadb-dump --all-databases | mariadb` (sql_log_bin=0) into the target.
// The headline ratio compares the data path both rebuilds share (stream + extract +
// prepare); the totals (with Marina's service stop/start) are reported beside it.
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { AgentConfig, agentSubjects, type RunningAgent, startAgent } from "@marina/agent";
import {
  type AgentResult,
  AgentResultMessage,
  envelope,
  mustParse,
  parseMessage,
  subjects,
} from "@marina/contracts";
import { freePort, type MariaNode, startLab } from "@marina/lab";
import { median, stat, writeBenchReport } from "@marina/lab/bench";
import { writeLease } from "@marina/lease-fence";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";

const TRIALS = Number(process.env.TRIALS ?? 10);
const LOGICAL_TRIALS = Number(process.env.LOGICAL_TRIALS ?? 3);
const TARGET_BYTES = Number(process.env.DATA_MB ?? 1100) * 1024 * 1024;
const ROW_BYTES = 3000;

const log = (msg: string) => console.log(`[bench rebuild] ${msg}`);
const ms = (t: number) => `${(t / 1000).toFixed(2)} s`;

/** Runs a shell line (the baseline only: Marina itself never uses a shell). */
function sh(line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/bash", ["-c", `set -o pipefail; ${line}`], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`exit ${code}: ${line}\n${err}`)),
    );
  });
}

async function generate(db: MariaNode): Promise<void> {
  const conn = await db.connect({ socketTimeoutMs: 600_000 });
  try {
    // Bulk load only on the donor: no binlog, relaxed flushing while generating.
    await conn.query("SET SESSION sql_log_bin = 0");
    await conn.query("SET GLOBAL innodb_flush_log_at_trx_commit = 2");
    await conn.query("CREATE DATABASE IF NOT EXISTS bench");
    await conn.query(
      "CREATE TABLE bench.big (id BIGINT PRIMARY KEY AUTO_INCREMENT, a VARBINARY(1100), b VARBINARY(2000)) ENGINE=InnoDB",
    );
    // Half random bytes, half repetitive text: neither trivially compressible nor not at all.
    const rows = Math.ceil(TARGET_BYTES / ROW_BYTES);
    const chunk = 50_000;
    for (let done = 0; done < rows; done += chunk) {
      const n = Math.min(chunk, rows - done);
      await conn.query(
        `INSERT INTO bench.big (a, b) SELECT RANDOM_BYTES(1000), REPEAT(CONCAT('row-', seq, '-'), 120) FROM bench.seq_1_to_${n}`,
      );
    }
    await conn.query("SET GLOBAL innodb_flush_log_at_trx_commit = 1");
  } finally {
    await conn.end();
  }
}

let seq = 0;
async function request(
  nc: NatsConnection,
  host: string,
  body: Record<string, unknown>,
): Promise<AgentResult> {
  const action = body.action as "send-backup" | "receive-backup";
  const msg = envelope("agent-request", "bench", {
    host,
    opId: `bench-${++seq}`,
    epoch: 1,
    request: body,
  });
  const reply = await nc.request(subjects.agent(host, action), JSON.stringify(msg), {
    timeout: 300_000,
  });
  const r = parseMessage(AgentResultMessage, reply.data);
  if (!r.ok) throw new Error(r.error.message);
  if (!r.value.payload.ok) throw new Error(`${action}: ${JSON.stringify(r.value.payload.error)}`);
  return r.value.payload;
}

function waitDone(nc: NatsConnection, host: string, opId: string): Promise<AgentResult> {
  return new Promise((resolve) => {
    const sub = nc.subscribe(agentSubjects.done(host));
    void (async () => {
      for await (const m of sub) {
        const r = mustParse(AgentResultMessage, m.json()).payload;
        if (r.opId === opId) {
          sub.unsubscribe();
          resolve(r);
          return;
        }
      }
    })();
  });
}

async function main(): Promise<void> {
  const mysqld = { innodb_buffer_pool_size: "512M", innodb_log_file_size: "256M" };
  log("starting a 2-node lab");
  const lab = await startLab({
    shape: "primary-replicas",
    nodes: 2,
    nats: true,
    mysqld,
    startTimeoutMs: 300_000,
  });
  const agents: RunningAgent[] = [];
  let nc: NatsConnection | undefined;
  try {
    const [db1, db2] = lab.nodes as [MariaNode, MariaNode];
    const t0 = performance.now();
    await generate(db1);
    const genS = (performance.now() - t0) / 1000;
    log(`generated the data set in ${genS.toFixed(1)} s`);

    for (const node of [db1, db2]) {
      const config = AgentConfig.parse({
        host: `bench-${node.name}`,
        nats: { servers: [lab.nats!.url] },
        advertiseAddress: "127.0.0.1",
        listenAddress: "127.0.0.1",
        backup: {
          user: lab.credentials.backup.user,
          password: { value: lab.credentials.backup.password },
        },
        tmpDir: join(lab.dir, `agent-tmp-${node.name}`),
        servers: [
          {
            name: node.name,
            cluster: "main",
            datadir: node.datadir,
            defaultsFile: node.defaultsFile,
            socket: node.socket,
            osUser: "root",
            osGroup: "root",
          },
        ],
        timeouts: { serviceMs: 300_000 },
      });
      agents.push(
        await startAgent({
          config,
          log: pino({ level: "warn" }),
          serviceControl: () => ({
            start: () => node.start(),
            stop: async () => {
              await node.stop();
            },
            status: async () => ({ running: node.isRunning(), pid: node.pid ?? null }),
          }),
        }),
      );
    }
    nc = await connect({ servers: lab.nats!.url });
    // The bench stands in for the leader: agents admit only the lease's epoch.
    await writeLease(nc, "main", 1, "bench");
    const pw = lab.credentials.backup.password;
    const user = lab.credentials.backup.user;
    const bareDir = join(lab.dir, "bare-target");
    const bareTmp = join(lab.dir, "bare-tmp");

    const marinaTransfer: number[] = [];
    const marinaTotal: number[] = [];
    const bareTransfer: number[] = [];
    const logicalTotal: number[] = [];
    let datadirBytes = 0;

    const marina = async () => {
      const start = performance.now();
      const recvOp = `bench-${seq + 1}`;
      const done = waitDone(nc!, "bench-db2", recvOp);
      await nc!.flush();
      const accepted = await request(nc!, "bench-db2", {
        action: "receive-backup",
        server: "db2",
        compression: { kind: "none" },
        tls: false,
      });
      if (accepted.opId !== recvOp) throw new Error("opId bookkeeping");
      await request(nc!, "bench-db1", {
        action: "send-backup",
        server: "db1",
        compression: { kind: "none" },
        tls: false,
        to: { address: "127.0.0.1", port: accepted.data.port },
      });
      const r = await done;
      if (!r.ok) throw new Error(`marina rebuild failed: ${JSON.stringify(r.error)}`);
      const total = performance.now() - start;
      const t = r.data.timings as Record<string, number>;
      // The old datadir is deleted while the stream runs; any wait for it counts too.
      const transfer = (t.streaming ?? 0) + (t.empty ?? 0) + (t.prepare ?? 0);
      datadirBytes = r.data.datadirBytes as number;
      marinaTransfer.push(transfer);
      marinaTotal.push(total);
      log(`marina: transfer ${ms(transfer)}, total ${ms(total)} (${JSON.stringify(t)})`);
    };

    const bare = async () => {
      await rm(bareDir, { recursive: true, force: true });
      await mkdir(bareDir, { recursive: true });
      const port = await freePort();
      const start = performance.now();
      const receiver = sh(
        `socat -u TCP-LISTEN:${port},reuseaddr,bind=127.0.0.1 - | mbstream -x -C ${bareDir}`,
      );
      // socat listens within milliseconds; the sender's connect retries cover the race.
      await sh(
        `MYSQL_PWD=${pw} mariadb-backup --defaults-file=${db1.defaultsFile} --backup --stream=xbstream --slave-info --safe-slave-backup --target-dir=${bareTmp} --user=${user} --socket=${db1.socket} 2>/dev/null | socat -u - TCP:127.0.0.1:${port},retry=50,interval=0.05`,
      );
      await receiver;
      await sh(
        `mariadb-backup --defaults-file=${db2.defaultsFile} --prepare --target-dir=${bareDir} 2>/dev/null`,
      );
      const s = performance.now() - start;
      bareTransfer.push(s);
      log(`bare pipe: ${ms(s)}`);
      await rm(bareTmp, { recursive: true, force: true });
    };

    const logical = async () => {
      const start = performance.now();
      await sh(
        `mariadb-dump --defaults-file=${db1.defaultsFile} --all-databases --single-transaction --gtid --master-data=2 --routines --events | mariadb --defaults-file=${db2.defaultsFile} --init-command="SET SESSION sql_log_bin=0"`,
      );
      const s = performance.now() - start;
      logicalTotal.push(s);
      log(`logical: ${ms(s)}`);
    };

    // One untimed warm-up of each physical path (page cache, first-run effects).
    await marina();
    await bare();
    marinaTransfer.length = 0;
    marinaTotal.length = 0;
    bareTransfer.length = 0;
    for (let i = 0; i < TRIALS; i++) {
      // Alternate the order so neither path always runs on a freshly warmed cache.
      if (i % 2 === 0) {
        await marina();
        await bare();
      } else {
        await bare();
        await marina();
      }
      if (i < LOGICAL_TRIALS) await logical();
    }

    const mb = datadirBytes / 1e6;
    const mbps = (xs: number[]) => xs.map((t) => (mb * 1000) / t);
    const metrics = {
      "marina.transfer_ms": stat(marinaTransfer, "ms"),
      "marina.transfer_mbps": stat(mbps(marinaTransfer), "MB/s"),
      "marina.total_ms": stat(marinaTotal, "ms"),
      "marina.total_mbps": stat(mbps(marinaTotal), "MB/s"),
      "bare_pipe.transfer_ms": stat(bareTransfer, "ms"),
      "bare_pipe.transfer_mbps": stat(mbps(bareTransfer), "MB/s"),
      "logical.total_ms": stat(logicalTotal, "ms"),
      "logical.total_mbps": stat(mbps(logicalTotal), "MB/s"),
    };
    // Throughput ratios from unrounded medians (baseline time / Marina time), so that
    // "Marina is at X of the baseline" reads right.
    const ratio = (baseline: number[], subject: number[]) =>
      Math.round((median(baseline) / median(subject)) * 1000) / 1000;
    writeBenchReport({
      name: "rebuild",
      settings: {
        datadirMB: Math.round(mb),
        compression: "none",
        transport: "loopback TCP (socat)",
        dataGenerationS: Math.round(genS),
        mysqld,
      },
      trials: TRIALS,
      metrics,
      ratios: {
        marina_vs_bare_pipe: ratio(bareTransfer, marinaTransfer),
        marina_total_vs_bare_pipe: ratio(bareTransfer, marinaTotal),
        marina_vs_logical: ratio(logicalTotal, marinaTotal),
      },
      notes: [
        `${TRIALS} interleaved trials of marina and the bare pipe (order alternating), after one untimed warm-up of each`,
        `${LOGICAL_TRIALS} logical trials only: each takes tens of seconds on 1 GB`,
        "transfer = stream + extract + prepare (what both physical paths do); for marina it also holds the deletion of the old datadir (overlapped with the stream) and the NATS round trip to the donor; marina.total adds the target's graceful stop, chown and start",
        "MB/s = extracted datadir size / time",
        `mariadb-backup reads the donor's datadir from the page cache (${Math.round(mb)} MB, 24 GB RAM): disk reads are not measured`,
      ],
    });
  } finally {
    await nc?.drain().catch(() => {});
    for (const a of agents) await a.stop().catch(() => {});
    await lab.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
