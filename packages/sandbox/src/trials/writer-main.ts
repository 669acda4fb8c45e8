// A lab writer as its own process, for the fault trials' writer on the primary's host
// (inside its network namespace: on the primary's side of a cut). The spec comes in
// MARINA_WRITER (JSON); each acknowledgement is a JSON line on stdout with an absolute time
// (performance.timeOrigin + performance.now(), comparable across processes); on SIGTERM it
// stops after the write in flight and prints how many ids it attempted.
import { type LabCredentials, type LabTls, MariaNode, startWriter } from "@marina/lab";

export interface WriterProcessSpec {
  readonly name: string;
  readonly labDir: string;
  readonly host: string;
  readonly port: number;
  readonly credentials: LabCredentials;
  readonly tls?: LabTls;
  readonly firstId: number;
  readonly intervalMs: number;
}

/** One line of the writer process's stdout. */
export type WriterLine =
  | { readonly ack: number; readonly at: number; readonly server: string }
  | { readonly done: true; readonly attempted: number };

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.MARINA_WRITER ?? "{}") as WriterProcessSpec;
  // Only its paths, address and accounts matter: nothing is started.
  const node = new MariaNode({
    name: spec.name,
    labDir: spec.labDir,
    host: spec.host,
    port: spec.port,
    credentials: spec.credentials,
    serverId: 0,
    domainId: 0,
    readOnly: false,
    semiSyncSlave: false,
    ...(spec.tls ? { tls: spec.tls } : {}),
  });
  const out = (line: WriterLine) => process.stdout.write(`${JSON.stringify(line)}\n`);
  const writer = await startWriter(node, {
    intervalMs: spec.intervalMs,
    firstId: spec.firstId,
    onAck: (id, at, server) => out({ ack: id, at: performance.timeOrigin + at, server }),
  });
  process.once("SIGTERM", () => {
    void writer.stop().then((r) => {
      out({ done: true, attempted: r.attempted });
      process.exit(0);
    });
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
