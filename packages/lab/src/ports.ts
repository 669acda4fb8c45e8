import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { LabError, LabErrorCode } from "./errors.js";

// Ports handed out by this process; never handed out twice.
const handedOut = new Set<number>();

function ephemeralLow(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > 0 ? n : 32768;
  } catch {
    return 32768;
  }
}

/** Binds host:port (0 = any) and returns the port actually bound, or undefined if taken. */
function tryBind(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(undefined));
    srv.listen({ host, port, exclusive: true }, () => {
      const addr = srv.address();
      const bound = typeof addr === "object" && addr ? addr.port : undefined;
      srv.close(() => resolve(bound));
    });
  });
}

const RANGE_START = 20000;

/**
 * A TCP port that is free on `host` right now. Candidates are drawn at random BELOW the
 * kernel's ephemeral range, so a port cannot be taken meanwhile by the local end of some
 * outgoing connection (which would make a later restart on the same port fail); falls
 * back to binding port 0 if that range is unusable.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const high = ephemeralLow();
  if (high - RANGE_START > 1000) {
    for (let i = 0; i < 64; i++) {
      const candidate = RANGE_START + Math.floor(Math.random() * (high - RANGE_START));
      if (handedOut.has(candidate)) continue;
      if ((await tryBind(host, candidate)) === candidate) {
        handedOut.add(candidate);
        return candidate;
      }
    }
  }
  for (let i = 0; i < 64; i++) {
    const port = await tryBind(host, 0);
    if (port !== undefined && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new LabError(LabErrorCode.NoFreePort, `no free TCP port found on ${host}`);
}

export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(await freePort(host));
  return out;
}
