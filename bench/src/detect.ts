// pnpm bench detect: how long after a fault on the primary the monitor publishes the first
// "unreachable" health event for it, at default settings (intervalMs 500, queryTimeoutMs
// 1000). Measured by a NATS subscriber from just before the signal to arrival.
//   kill9   - kill -9 of mariadbd: the open connection drops; reported from its error event.
//   sigstop - SIGSTOP: the server freezes; reported when the probe's deadline passes.
// Also: the cost of the two publish paths that land in the stream (core publish + flush
// vs JetStream publish with ack), interleaved, to justify publishing with core NATS.
import { HealthMessage, type HealthSample, MarinaConfig, parseMessage } from "@marina/contracts";
import { type Lab, startLab, waitFor } from "@marina/lab";
import { stat, writeBenchReport } from "@marina/lab/bench";
import { HEALTH_STREAM, type MonitorHandle, startMonitor } from "@marina/monitor";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";

const TRIALS = Number(process.env.DETECT_TRIALS ?? 12);
const PUBLISH_SAMPLES = 300;

interface Arrival {
  at: number;
  sample: HealthSample;
}

function configFor(lab: Lab): MarinaConfig {
  return MarinaConfig.parse({
    nats: { servers: [lab.nats!.url] },
    clusters: [
      {
        name: "bench",
        servers: lab.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port })),
        admin: {
          user: lab.credentials.marina.user,
          password: { value: lab.credentials.marina.password },
        },
        replication: {
          user: lab.credentials.repl.user,
          password: { value: lab.credentials.repl.password },
        },
        // Defaults on purpose: intervalMs 500, queryTimeoutMs 1000, connectTimeoutMs 500.
      },
    ],
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const lab = await startLab({ shape: "primary-replicas", nodes: 3 });
  let mon: MonitorHandle | undefined;
  let nc: NatsConnection | undefined;
  try {
    const config = configFor(lab);
    const settings = config.clusters[0]!.monitor;
    nc = await connect({ servers: lab.nats!.url });
    const arrivals: Arrival[] = [];
    nc.subscribe("marina.v1.bench.health.db1", {
      callback: (_err, msg) => {
        const p = parseMessage(HealthMessage, msg.data);
        if (p.ok) arrivals.push({ at: performance.now(), sample: p.value.payload });
      },
    });
    await nc.flush();
    mon = await startMonitor({
      config,
      monitorId: "bench",
      log: pino({ level: process.env.DETECT_LOG ?? "silent" }),
      http: false,
    });
    await mon.ready;
    const primary = lab.primary;

    const reachableAfter = (t: number) =>
      waitFor(() => arrivals.find((a) => a.at > t && a.sample.reachable), {
        timeoutMs: 30_000,
        intervalMs: 5,
        message: "db1 reachable",
      });
    const unreachableAfter = (t: number) =>
      waitFor(() => arrivals.find((a) => a.at > t && !a.sample.reachable), {
        timeoutMs: 30_000,
        intervalMs: 1,
        message: "db1 unreachable",
      });
    /** Waits for a scheduled probe, then a random part of an interval: a random phase. */
    const randomPhase = async () => {
      const last = await reachableAfter(performance.now());
      await sleep(Math.random() * settings.intervalMs - (performance.now() - last.at));
    };

    const kill: number[] = [];
    const stop: number[] = [];
    const kinds = new Map<string, number>();
    const count = (k: string) => kinds.set(k, (kinds.get(k) ?? 0) + 1);
    for (let i = 0; i < TRIALS; i++) {
      // kill -9, then start again.
      await randomPhase();
      let t0 = performance.now();
      await primary.kill9();
      let lost = await unreachableAfter(t0);
      kill.push(lost.at - t0);
      count(`kill9:${lost.sample.error?.kind}`);
      await primary.start();
      await reachableAfter(performance.now());

      // SIGSTOP, then SIGCONT.
      await randomPhase();
      t0 = performance.now();
      primary.sigstop();
      try {
        lost = await unreachableAfter(t0);
      } finally {
        primary.sigcont();
      }
      stop.push(lost.at - t0);
      count(`sigstop:${lost.sample.error?.kind}`);
      await reachableAfter(performance.now());
      process.stdout.write(
        `trial ${i + 1}/${TRIALS}: kill9 ${kill.at(-1)!.toFixed(1)} ms, sigstop ${stop.at(-1)!.toFixed(1)} ms\n`,
      );
    }

    const pub = await publishPaths(nc);

    writeBenchReport({
      name: "detect",
      settings: {
        intervalMs: settings.intervalMs,
        queryTimeoutMs: settings.queryTimeoutMs,
        connectTimeoutMs: settings.connectTimeoutMs,
        backoffMinMs: settings.backoffMinMs,
        backoffMaxMs: settings.backoffMaxMs,
        nodes: lab.nodes.length,
        publishSamples: PUBLISH_SAMPLES,
      },
      trials: TRIALS,
      metrics: {
        "kill9.detect_ms": stat(kill, "ms"),
        "sigstop.detect_ms": stat(stop, "ms"),
        "publish_core_flush.latency_us": stat(pub.core, "us"),
        "publish_jetstream_ack.latency_us": stat(pub.js, "us"),
      },
      ratios: {
        core_vs_jetstream_publish: Math.round((median(pub.core) / median(pub.js)) * 100) / 100,
      },
      notes: [
        `error kinds of the first unreachable event: ${[...kinds].map(([k, n]) => `${k}=${n}`).join(", ")}`,
        "detect = fault signal sent -> first unreachable health event received by a NATS subscriber",
        "sigstop is bounded below by queryTimeoutMs and above by intervalMs + queryTimeoutMs (random phase)",
        `both publish paths landed in ${HEALTH_STREAM}: core ${pub.storedCore}/${PUBLISH_SAMPLES}, jetstream ${pub.storedJs}/${PUBLISH_SAMPLES}`,
      ],
    });
  } finally {
    await mon?.close();
    await nc?.close().catch(() => {});
    await lab.close();
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Per-message latency until the server has the message: core publish + flush (PING/PONG)
 * vs JetStream publish awaiting its ack. Interleaved so load affects both alike. The
 * payload is a real health envelope's size.
 */
async function publishPaths(nc: NatsConnection) {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const body = new TextEncoder().encode(
    JSON.stringify({ pad: "x".repeat(2400), note: "health-sized payload" }),
  );
  const core: number[] = [];
  const jsl: number[] = [];
  for (let i = 0; i < PUBLISH_SAMPLES; i++) {
    let t = performance.now();
    nc.publish("marina.v1.benchpub.health.core", body);
    await nc.flush();
    core.push((performance.now() - t) * 1000);
    t = performance.now();
    await js.publish("marina.v1.benchpub.health.js", body);
    jsl.push((performance.now() - t) * 1000);
  }
  const stored = async (subject: string) => {
    const count = async () => {
      const info = await jsm.streams.info(HEALTH_STREAM, { subjects_filter: subject });
      return info.state.subjects?.[subject] ?? 0;
    };
    // Core publishes are stored asynchronously after the PONG; give them a moment.
    await waitFor(async () => (await count()) >= PUBLISH_SAMPLES, 2000).catch(() => {});
    return count();
  };
  return {
    core,
    js: jsl,
    storedCore: await stored("marina.v1.benchpub.health.core"),
    storedJs: await stored("marina.v1.benchpub.health.js"),
  };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
