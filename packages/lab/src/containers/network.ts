// The lab's container network, with a fixed IP and MAC address per container. A container
// that is killed and started again keeps both, and every container's /etc/hosts names the
// lab's servers: a replica finds its source without asking the engine's DNS, and its
// neighbour table stays right. Measured on Podman, without them:
// - aardvark-dns sometimes left a lookup unanswered for the resolver's 5 s, and a replica's
//   IO thread resolves its source at every reconnect (STOP SLAVE waits for that lookup);
// - a restarted container got another address, and a new MAC at every start: a replica's
//   connects to its restarted source timed out ("Connection timed out") for over 15 s.
import { LabError, LabErrorCode } from "../errors.js";
import { type Dockerode, LABEL_LAB, LABEL_OWNER_PID } from "./engine.js";

/** An IPv4 subnet as numbers: its first address and prefix length. */
export interface Ipv4Subnet {
  readonly base: number;
  readonly prefix: number;
}

function parseIpv4(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  const parts = m ? m.slice(1, 5).map(Number) : [];
  if (!m || parts.some((p) => p > 255)) return undefined;
  return parts.reduce((a, p) => a * 256 + p, 0);
}

export function parseSubnet(cidr: string): Ipv4Subnet {
  const [ip = "", bits = ""] = cidr.split("/");
  const addr = parseIpv4(ip);
  const prefix = /^\d{1,2}$/.test(bits) ? Number(bits) : Number.NaN;
  if (addr === undefined || !(prefix >= 8 && prefix <= 30)) {
    throw new LabError(LabErrorCode.StartFailed, `not an IPv4 subnet: ${JSON.stringify(cidr)}`);
  }
  const size = 2 ** (32 - prefix);
  return { base: addr - (addr % size), prefix };
}

/** An IPv4 address's four bytes, most significant first. */
function ipv4Bytes(n: number): number[] {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256);
}

export function formatIpv4(n: number): string {
  return ipv4Bytes(n).join(".");
}

/**
 * The `index`th container address of the subnet (0: the first free one), never the
 * network's own address, its gateway's or its broadcast address.
 */
export function containerAddress(
  subnet: Ipv4Subnet,
  gateway: string | undefined,
  index: number,
): string {
  const gw = gateway === undefined ? undefined : parseIpv4(gateway);
  let n = subnet.base + 1 + index;
  // The gateway (usually the first address) is skipped wherever it is.
  if (gw === undefined || gw < subnet.base + 1) n += 1;
  else if (n >= gw) n += 1;
  if (n >= subnet.base + 2 ** (32 - subnet.prefix) - 1) {
    throw new LabError(
      LabErrorCode.StartFailed,
      `the lab network ${formatIpv4(subnet.base)}/${subnet.prefix} has no address left for container ${index + 1}`,
    );
  }
  return formatIpv4(n);
}

/**
 * The container's MAC address, fixed by its IP address: locally administered, 02:42 then
 * the address's four bytes (Docker's own scheme).
 */
export function macAddress(ip: string): string {
  const n = parseIpv4(ip);
  if (n === undefined) throw new LabError(LabErrorCode.StartFailed, `not an IPv4 address: ${ip}`);
  const bytes = [2, 0x42, ...ipv4Bytes(n)];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** A lab network: its name on the engine, and the address given to each alias. */
export class ContainerNetwork {
  readonly #docker: Dockerode;
  readonly #subnet: Ipv4Subnet;
  readonly #gateway: string | undefined;
  readonly #addresses = new Map<string, string>();
  readonly name: string;
  #removed = false;

  private constructor(
    docker: Dockerode,
    name: string,
    subnet: Ipv4Subnet,
    gateway: string | undefined,
  ) {
    this.#docker = docker;
    this.name = name;
    this.#subnet = subnet;
    this.#gateway = gateway;
  }

  /**
   * Creates the network on a subnet the engine chose as free, declared explicitly (Docker
   * gives fixed addresses only on a network whose subnet was given at its creation).
   */
  static async create(docker: Dockerode, name: string): Promise<ContainerNetwork> {
    const labels = { [LABEL_LAB]: "1", [LABEL_OWNER_PID]: String(process.pid) };
    let lastErr: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      let subnet: string | undefined;
      let gateway: string | undefined;
      try {
        // The engine's choice of a free subnet, then the same one declared: another run
        // may take it in between, hence the retries.
        const probe = await docker.createNetwork({ Name: name, Labels: labels });
        const info = await docker.getNetwork(probe.id).inspect();
        await docker.getNetwork(probe.id).remove();
        const ipv4 = (info.IPAM?.Config ?? []).find((c: { Subnet?: string }) =>
          /^\d+\.\d+\.\d+\.\d+\//.test(c.Subnet ?? ""),
        ) as { Subnet: string; Gateway?: string } | undefined;
        if (!ipv4) {
          throw new LabError(
            LabErrorCode.StartFailed,
            `the engine gave network ${name} no IPv4 subnet`,
          );
        }
        subnet = ipv4.Subnet;
        gateway = ipv4.Gateway;
        await docker.createNetwork({
          Name: name,
          Labels: labels,
          IPAM: { Config: [{ Subnet: subnet, ...(gateway ? { Gateway: gateway } : {}) }] },
        });
        return new ContainerNetwork(docker, name, parseSubnet(subnet), gateway);
      } catch (err) {
        lastErr = err;
        await docker
          .getNetwork(name)
          .remove()
          .catch(() => {});
        if (err instanceof LabError) throw err;
      }
    }
    throw new LabError(
      LabErrorCode.StartFailed,
      `could not create the lab network ${name}: ${String(lastErr)}`,
      {
        cause: lastErr,
      },
    );
  }

  /** The fixed address of `alias` on this network, given on first ask. */
  address(alias: string): string {
    let ip = this.#addresses.get(alias);
    if (ip === undefined) {
      ip = containerAddress(this.#subnet, this.#gateway, this.#addresses.size);
      this.#addresses.set(alias, ip);
    }
    return ip;
  }

  /**
   * Every alias given an address so far, as `/etc/hosts` lines for a container made now
   * (a server added later is found through the engine's DNS).
   */
  hosts(): Array<{ host: string; ipAddress: string }> {
    return [...this.#addresses].map(([host, ipAddress]) => ({ host, ipAddress }));
  }

  /** Removes the network (after its containers: the engine refuses while one is on it); safe to call twice. */
  async remove(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    await this.#docker
      .getNetwork(this.name)
      .remove()
      .catch(() => {});
  }
}
