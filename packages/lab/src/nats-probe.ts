// Readiness probes of a lab nats-server, spoken in the plain NATS protocol over one TCP
// connection (the lab has no NATS client dependency): the INFO greeting, and one request
// to the JetStream API. In a cluster only the meta leader answers `$JS.API.STREAM.NAMES`
// (other servers forward it), so an answer through a node means JetStream is usable
// through that node: a meta leader is elected and reachable from it.
import { connect as tcpConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";

export interface NatsServerInfo {
  readonly server_name?: string;
  readonly tls_required?: boolean;
  readonly jetstream?: boolean;
  readonly cluster?: string;
  readonly connect_urls?: readonly string[];
}

const CRLF = "\r\n";
const REPLY = "_LAB.PROBE";

/**
 * Connects to host:port, reads INFO and, with `request`, publishes it (empty payload) and
 * waits for the reply. Resolves with the INFO and the reply's payload; closes the socket.
 */
/** A user the probe logs in as (a server that requires authentication). */
export interface ProbeUser {
  readonly user: string;
  readonly password: string;
}

function converse(
  host: string,
  port: number,
  timeoutMs: number,
  request?: string,
  login?: ProbeUser,
  tlsCa?: string,
): Promise<{ info: NatsServerInfo; reply?: string }> {
  return new Promise((resolve, reject) => {
    const tcp = tcpConnect({ host, port });
    // After a TLS server's INFO, everything goes over TLS on the same connection.
    let sock: NodeJS.ReadWriteStream & { destroy(): void } = tcp;
    let buf = Buffer.alloc(0);
    let info: NatsServerInfo | undefined;
    let settled = false;
    const done = (err: Error | undefined, reply?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      tcp.destroy();
      if (err) reject(err);
      else resolve({ info: info ?? {}, ...(reply !== undefined ? { reply } : {}) });
    };
    const what = request ? `no reply to ${request}` : "no INFO";
    const timer = setTimeout(() => done(new Error(`${what} from nats-server`)), timeoutMs);
    tcp.on("error", (err) => done(err));
    tcp.on("close", () => done(new Error("nats-server closed the connection")));
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      try {
        for (;;) {
          const end = buf.indexOf(CRLF);
          if (end < 0) return;
          const line = buf.subarray(0, end).toString("utf8");
          if (line.startsWith("MSG ")) {
            // MSG <subject> <sid> [reply-to] <#bytes>: the payload follows the line.
            const size = Number(line.split(" ").at(-1));
            if (buf.length < end + 2 + size + 2) return;
            return done(undefined, buf.subarray(end + 2, end + 2 + size).toString("utf8"));
          }
          buf = buf.subarray(end + 2);
          if (line.startsWith("INFO ")) {
            info = JSON.parse(line.slice(5)) as NatsServerInfo;
            if (!request) return done(undefined);
            if (info.tls_required) {
              tcp.removeListener("data", onData);
              const secure = tlsConnect({ socket: tcp, host, ...(tlsCa ? { ca: tlsCa } : {}) });
              secure.on("error", (err) => done(err));
              secure.on("data", onData);
              sock = secure;
            }
            const connect = {
              verbose: false,
              pedantic: false,
              lang: "marina-lab",
              version: "0",
              protocol: 1,
              ...(login ? { user: login.user, pass: login.password } : {}),
            };
            sock.write(
              `CONNECT ${JSON.stringify(connect)}${CRLF}` +
                `SUB ${REPLY} 1${CRLF}PUB ${request} ${REPLY} 0${CRLF}${CRLF}`,
            );
          } else if (line === "PING") {
            sock.write(`PONG${CRLF}`);
          } else if (line.startsWith("-ERR")) {
            return done(new Error(`nats-server: ${line}`));
          } else if (!info) {
            return done(new Error(`unexpected greeting: ${line}`));
          }
        }
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    };
    tcp.on("data", onData);
  });
}

/** Connects, reads the INFO line the server greets every client with, and closes. */
export async function readNatsInfo(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<NatsServerInfo> {
  return (await converse(host, port, timeoutMs)).info;
}

/**
 * Resolves once a JetStream API request through host:port is answered without error
 * (standalone: JetStream is on; clustered: a meta leader is elected and reachable).
 * Rejects with the server's error ("JetStream system temporarily unavailable") or a timeout.
 */
export async function checkJetStream(
  host: string,
  port: number,
  timeoutMs: number,
  login?: ProbeUser,
  tlsCa?: string,
): Promise<NatsServerInfo> {
  const { info, reply } = await converse(
    host,
    port,
    timeoutMs,
    "$JS.API.STREAM.NAMES",
    login,
    tlsCa,
  );
  const answer = JSON.parse(reply ?? "{}") as { error?: { description?: string; code?: number } };
  if (answer.error) {
    throw new Error(`JetStream: ${answer.error.description ?? JSON.stringify(answer.error)}`);
  }
  return info;
}
