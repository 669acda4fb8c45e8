// `host:port` (or `[v6]:port`) as given on the command line, checked before it goes into
// a nats-server config or a route URL.
import { Address, MarinaError } from "@marina/contracts";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/;

/** Parses `host:port`; `flag` names the offending flag in the error. */
export function parseHostPort(text: string, flag: string): HostPort {
  const m = HOST_PORT.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || !Address.safeParse(host).success || port < 1 || port > 65535) {
    throw new MarinaError(
      "VALIDATION_FAILED",
      `--${flag} must be host:port (an address or host name and a port 1-65535), got "${text}"`,
      { path: `--${flag}` },
    );
  }
  return { host, port };
}

/** `host:port`, bracketing an IPv6 address. */
export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(":") ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
