// Test-side helpers for integration tests: a config for a lab, and a client that sends
// exec requests over real NATS the way the decider will, holding the leader lease (in KV)
// whose epoch it sends: executors admit only the current lease's epoch.
import {
  type ExecResult,
  ExecResultMessage,
  type ExecStep,
  envelope,
  MarinaConfig,
  newId,
  parseMessage,
  subjects,
} from "@marina/contracts";
import type { Lab } from "@marina/lab";
import { writeLease } from "@marina/lease-fence";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export function labConfig(
  lab: Lab,
  opts: {
    cluster?: string;
    extraServers?: Array<{ name: string; host: string; port: number }>;
  } = {},
): MarinaConfig {
  const c = lab.credentials;
  return MarinaConfig.parse({
    nats: { servers: [lab.nats!.url] },
    clusters: [
      {
        name: opts.cluster ?? "main",
        servers: [
          ...lab.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port })),
          ...(opts.extraServers ?? []),
        ],
        admin: { user: c.marina.user, password: { value: c.marina.password } },
        replication: { user: c.repl.user, password: { value: c.repl.password } },
      },
    ],
  });
}

export interface ExecOptions {
  epoch?: number;
  cluster?: string;
  opId?: string;
  stepId?: string;
  timeoutMs?: number;
}

export class ExecClient {
  /** The lease epoch held per cluster: what a request carries when it names none. */
  readonly #epochs = new Map<string, number>();

  private constructor(readonly nc: NatsConnection) {}

  /** Connects and takes the lease of cluster "main" at epoch 1. */
  static async connect(url: string): Promise<ExecClient> {
    const client = new ExecClient(await connect({ servers: url, name: "exec-test-client" }));
    await client.lead(1);
    return client;
  }

  /** Takes `cluster`'s lease at `epoch` (a new leader) and sends with it from now on. */
  async lead(epoch: number, cluster = "main"): Promise<void> {
    await writeLease(this.nc, cluster, epoch, "exec-test");
    this.#epochs.set(cluster, epoch);
  }

  /** Sends a raw body on a cluster's exec subject and returns the validated reply envelope. */
  async raw(cluster: string, body: string, timeoutMs = 30_000) {
    const msg = await this.nc.request(subjects.exec(cluster), body, { timeout: timeoutMs });
    const parsed = parseMessage(ExecResultMessage, msg.data);
    if (!parsed.ok) throw new Error(`reply is not an exec-result: ${parsed.error.message}`);
    return parsed.value;
  }

  async exec(server: string, step: ExecStep, o: ExecOptions = {}): Promise<ExecResult> {
    const cluster = o.cluster ?? "main";
    const body = envelope("exec-request", "exec-test", {
      cluster,
      server,
      opId: o.opId ?? "op-test",
      stepId: o.stepId ?? newId(),
      epoch: o.epoch ?? this.#epochs.get(cluster) ?? 1,
      step,
    });
    const reply = await this.raw(cluster, JSON.stringify(body), o.timeoutMs);
    return reply.payload;
  }

  /** Like exec, but an error result throws with the error's code and message. */
  async ok(server: string, step: ExecStep, o: ExecOptions = {}): Promise<ExecResult["data"]> {
    const r = await this.exec(server, step, o);
    if (!r.ok) {
      throw new Error(`${step.kind} on ${server} failed: ${r.error?.code} ${r.error?.message}`);
    }
    return r.data;
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
