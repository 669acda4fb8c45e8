// The trials' two writers as the checker sees them: in this process (startWriter), or as a
// process inside a lab host's network namespace (writer-main.ts), its acknowledgements
// brought onto this process's clock.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  type Lab,
  type MariaNode,
  runServiceMain,
  startWriter,
  stopServiceRun,
  waitFor,
} from "@marina/lab";
import type { Ack, WriterRecord } from "./checker.js";
import type { WriterLine, WriterProcessSpec } from "./writer-main.js";

export interface TrialWriter {
  /** Acknowledgements so far (a process writer's arrive as it prints them). */
  readonly acks: readonly Ack[];
  waitForAcks(count: number, timeoutMs: number): Promise<void>;
  /** Stops after the write in flight: what the checker needs. */
  stop(): Promise<WriterRecord>;
}

export interface TrialWriterOptions {
  readonly name: string;
  readonly firstId: number;
  readonly intervalMs: number;
}

/** A writer in this process, to a fixed node or to whatever `target` names now. */
export async function startLocalWriter(
  target: MariaNode | (() => MariaNode),
  o: TrialWriterOptions,
): Promise<TrialWriter> {
  const acks: Ack[] = [];
  const w = await startWriter(target, {
    intervalMs: o.intervalMs,
    firstId: o.firstId,
    onAck: (id, at, server) => {
      acks.push({ id, at, server });
    },
  });
  return {
    acks,
    waitForAcks: (count, timeoutMs) => w.waitForAcks(count, timeoutMs),
    async stop() {
      const r = await w.stop();
      return { name: o.name, acks, attempted: [...r.acked, ...r.failed.map((f) => f.id)] };
    },
  };
}

const require = createRequire(import.meta.url);

/** The compiled writer-main.js (also when this module runs from source, under vitest). */
function writerMain(): string {
  return join(dirname(require.resolve("@marina/sandbox")), "trials", "writer-main.js");
}

/**
 * A writer pinned to `node`, running inside the node's host (hosts mode): it reaches the
 * server however that host does, and is cut off with it.
 */
export async function startHostWriter(
  lab: Lab,
  node: MariaNode,
  o: TrialWriterOptions,
): Promise<TrialWriter> {
  const spec: WriterProcessSpec = {
    name: node.name,
    labDir: lab.dir,
    host: node.host,
    port: node.port,
    credentials: node.credentials,
    ...(node.tls ? { tls: node.tls } : {}),
    firstId: o.firstId,
    intervalMs: o.intervalMs,
  };
  const run = runServiceMain(
    writerMain(),
    [],
    { MARINA_WRITER: JSON.stringify(spec) },
    { host: lab.hostOf(node.name) },
  );
  const acks: Ack[] = [];
  let attempted: number | undefined;
  let buffered = "";
  run.child.stdout!.on("data", (d: Buffer) => {
    buffered += d.toString("utf8");
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      const text = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      if (!text.startsWith("{")) continue;
      const line = JSON.parse(text) as WriterLine;
      // Its clock's absolute time onto ours.
      if ("ack" in line)
        acks.push({ id: line.ack, at: line.at - performance.timeOrigin, server: line.server });
      else attempted = line.attempted;
    }
  });
  return {
    acks,
    async waitForAcks(count, timeoutMs) {
      await waitFor(() => acks.length >= count, {
        timeoutMs,
        message: `${count} writes acknowledged to the writer on ${node.name}'s host`,
      }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; its stderr: ${run.stderr.slice(-500)}`);
      });
    },
    async stop() {
      await stopServiceRun(run, 15_000);
      // Ids are consecutive from firstId; a writer that died without saying: up to its last ack.
      const last = attempted ?? Math.max(0, ...acks.map((a) => a.id - o.firstId + 1));
      return {
        name: o.name,
        acks,
        attempted: Array.from({ length: last }, (_, i) => o.firstId + i),
      };
    },
  };
}
