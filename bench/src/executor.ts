// pnpm bench executor: what a step costs through NATS and an executor, and a whole
// switchover driven step by step through executors vs the same SQL sent directly.
//
// Setup: a 3-node primary-replicas lab, one executor in its own process (dist/main.js).
// Baseline ("bare"): the same statements on connections opened before the trial, with none
// of the executor's idempotency reads, envelopes or per-step connections. The two run
// interleaved, rotating the primary db1 → db2 → db3 → db1 …
import { spawn } from "node:child_process";
import { once } from "node:events";
import { openSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ExecResultMessage,
  type ExecStep,
  envelope,
  MarinaConfig,
  newId,
  parseMessage,
  subjects,
} from "@marina/contracts";
import { type Connection, gtidOf, type MariaNode, startLab, waitFor } from "@marina/lab";
import { stat, writeBenchReport } from "@marina/lab/bench";
import { writeLease } from "@marina/lease-fence";
import { serviceMain } from "@marina/sandbox";
import { connect, type NatsConnection } from "@nats-io/transport-node";

const TRIALS = Number(process.env.TRIALS ?? 10);
const ROUNDTRIPS = 50;

async function exec(nc: NatsConnection, server: string, step: ExecStep): Promise<void> {
  const body = envelope("exec-request", "bench", {
    cluster: "main",
    server,
    opId: "bench",
    stepId: newId(),
    epoch: 1,
    step,
  });
  const msg = await nc.request(subjects.exec("main"), JSON.stringify(body), { timeout: 30_000 });
  const r = parseMessage(ExecResultMessage, msg.data);
  if (!r.ok || !r.value.payload.ok) {
    throw new Error(
      `${step.kind} on ${server}: ${JSON.stringify(r.ok ? r.value.payload.error : r.error)}`,
    );
  }
}

/** Promote `c`, demote `p`, repoint `p` and `r` under `c` — one executor step at a time. */
async function switchoverViaExecutors(
  nc: NatsConnection,
  p: MariaNode,
  c: MariaNode,
  r: MariaNode,
) {
  await exec(nc, p.name, { kind: "set-read-only", readOnly: true });
  await exec(nc, p.name, { kind: "kill-clients", includePrivileged: false });
  const pos = (await gtidOf(p)).binlogPos; // the decider has it from inspect/health
  await exec(nc, c.name, { kind: "wait-gtid", pos, timeoutMs: 10_000 });
  await exec(nc, c.name, { kind: "stop-replication", connection: "" });
  await exec(nc, c.name, { kind: "reset-replication", connection: "" });
  await exec(nc, c.name, { kind: "set-read-only", readOnly: false });
  for (const n of [p, r]) {
    if (n === p) await exec(nc, n.name, { kind: "set-gtid-slave-pos", pos });
    else await exec(nc, n.name, { kind: "stop-replication", connection: "" });
    await exec(nc, n.name, {
      kind: "change-master",
      connection: "",
      source: c.name,
      useGtid: "slave_pos",
    });
    await exec(nc, n.name, { kind: "start-replication", connection: "" });
  }
  for (const n of [p, r]) {
    await exec(nc, n.name, { kind: "verify-replicating", connection: "", timeoutMs: 10_000 });
  }
}

async function switchoverBare(
  conns: Map<string, Connection>,
  p: MariaNode,
  c: MariaNode,
  r: MariaNode,
) {
  const q = (n: MariaNode, sql: string, params?: unknown[]) =>
    conns.get(n.name)!.query(sql, params);
  await q(p, "SET GLOBAL read_only = ON");
  await q(p, "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'app'");
  const pos = (await gtidOf(p)).binlogPos;
  await q(c, "SELECT MASTER_GTID_WAIT(?, 10)", [pos]);
  await q(c, "STOP SLAVE ''");
  await q(c, "RESET SLAVE '' ALL");
  await q(c, "SET GLOBAL read_only = OFF");
  const repl = c.credentials.repl;
  for (const n of [p, r]) {
    if (n === p) await q(n, "SET GLOBAL gtid_slave_pos = ?", [pos]);
    else await q(n, "STOP SLAVE ''");
    await q(
      n,
      "CHANGE MASTER '' TO MASTER_HOST=?, MASTER_PORT=?, MASTER_USER=?, MASTER_PASSWORD=?, " +
        "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1",
      [c.host, c.port, repl.user, repl.password],
    );
    await q(n, "START SLAVE ''");
  }
  for (const n of [p, r]) {
    await waitFor(
      async () => {
        const [row] = (await q(n, "SHOW SLAVE STATUS")) as Array<Record<string, unknown>>;
        return row?.Slave_IO_Running === "Yes" && row?.Slave_SQL_Running === "Yes";
      },
      { timeoutMs: 10_000, intervalMs: 100, message: `${n.name} replicating` },
    );
  }
}

async function main(): Promise<void> {
  const lab = await startLab({ shape: "primary-replicas", nodes: 3 });
  const cfgFile = join(lab.dir, "marina.json");
  const c = lab.credentials;
  await writeFile(
    cfgFile,
    JSON.stringify(
      MarinaConfig.parse({
        nats: { servers: [lab.nats!.url] },
        clusters: [
          {
            name: "main",
            servers: lab.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port })),
            admin: { user: c.marina.user, password: { value: c.marina.password } },
            replication: { user: c.repl.user, password: { value: c.repl.password } },
          },
        ],
      }),
    ),
  );
  const mainJs = serviceMain("@marina/executor");
  const out = openSync(join(lab.dir, "executor.log"), "a");
  const child = spawn(process.execPath, [mainJs, "--config", cfgFile, "--id", "bench"], {
    stdio: ["ignore", out, out],
  });
  const nc = await connect({ servers: lab.nats!.url });
  const conns = new Map<string, Connection>();
  try {
    // The bench stands in for the leader: the executor admits only the lease's epoch.
    await writeLease(nc, "main", 1, "bench");
    await waitFor(() => exec(nc, "db1", { kind: "inspect" }).then(() => true), {
      timeoutMs: 20_000,
      message: "executor serving",
    });
    for (const n of lab.nodes) conns.set(n.name, await n.connect());

    const inspect: number[] = [];
    const noop: number[] = [];
    for (let i = 0; i < ROUNDTRIPS; i++) {
      let t = performance.now();
      await exec(nc, "db2", { kind: "inspect" });
      inspect.push(performance.now() - t);
      t = performance.now();
      await exec(nc, "db2", { kind: "set-read-only", readOnly: true });
      noop.push(performance.now() - t);
    }

    const marina: number[] = [];
    const bare: number[] = [];
    let primary = 0;
    const nodes = lab.nodes;
    for (let i = 0; i < TRIALS * 2; i++) {
      const p = nodes[primary]!;
      const cand = nodes[(primary + 1) % 3]!;
      const rest = nodes[(primary + 2) % 3]!;
      const t = performance.now();
      if (i % 2 === 0) {
        await switchoverViaExecutors(nc, p, cand, rest);
        marina.push(performance.now() - t);
      } else {
        await switchoverBare(conns, p, cand, rest);
        bare.push(performance.now() - t);
      }
      primary = (primary + 1) % 3;
    }
    const m = stat(marina, "ms");
    const b = stat(bare, "ms");
    writeBenchReport({
      name: "executor",
      settings: { executors: 1, executorProcess: "dist/main.js", connectionPerStep: true },
      trials: TRIALS,
      metrics: {
        "inspect.roundtrip_ms": stat(inspect, "ms"),
        "noop_step.roundtrip_ms": stat(noop, "ms"),
        "switchover.executors_ms": m,
        "switchover.bare_sql_ms": b,
      },
      ratios: { executors_vs_bare_sql: Math.round((m.median / b.median) * 100) / 100 },
      notes: [
        "switchover = read_only on old primary, kill-clients, wait-gtid on candidate, stop/reset/read_only=0 on candidate, set-gtid-slave-pos + change-master + start on the old primary, stop + change-master + start on the third node, verify both (15 steps)",
        "bare = the same statements on connections opened beforehand, without the executor's idempotency reads",
      ],
    });
  } finally {
    for (const conn of conns.values()) await conn.end().catch(() => conn.destroy());
    await nc.close();
    child.kill("SIGTERM");
    if (child.exitCode === null) await once(child, "exit");
    await lab.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
