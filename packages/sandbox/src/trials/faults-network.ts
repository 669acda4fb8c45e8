// Network faults around the primary's host (hosts mode), each healed after `ms`. ROOT is
// the root namespace: Marina's services (but the second monitor, on host mon2) and the
// follow writer. A writer inside the primary's host (writerOnHost) reaches it over the
// host's own loopback route, which no cut touches.
import { type Lab, type Partition, type Peer, ROOT, sleep } from "@marina/lab";

export type NetworkFault = "isolate" | "isolate-marina" | "split" | "isolate-replicas" | "one-way";

/** The hosts that are not database servers: the NATS hosts (nats1…natsN), mon2's. */
function marinaHosts(lab: Lab): string[] {
  const dbs = new Set(lab.nodes.map((n) => n.name));
  return lab.network!.hosts.map((h) => h.name).filter((n) => !dbs.has(n));
}

/**
 * Cuts the network as `kind` says around `primary` (the other database servers in the
 * lab's order), waits `ms` and heals. Returns what was cut. `random` chooses the
 * direction of a one-way cut.
 */
export async function cutNetwork(
  kind: NetworkFault,
  lab: Lab,
  primary: string,
  ms: number,
  random: () => number,
): Promise<string> {
  const net = lab.network;
  if (!net) throw new Error(`${kind} needs a lab in hosts mode`);
  const replicas = lab.nodes.map((n) => n.name).filter((n) => n !== primary);
  const marina: Peer[] = [ROOT, ...marinaHosts(lab)];
  const outbound = random() < 0.5; // drawn for every kind: the seed's later draws stay put
  let cut: Partition;
  switch (kind) {
    case "isolate":
    case "isolate-replicas":
      // The same rules: what differs is the pinned writer, inside the host for the latter.
      cut = await net.isolate(primary);
      break;
    case "isolate-marina":
      cut = await net.cut(primary, marina);
      break;
    case "split": {
      const [partner, ...rest] = replicas;
      cut = await net.cut([primary, partner!], [...marina, ...rest]);
      break;
    }
    case "one-way":
      cut = outbound
        ? await net.cutOneWay(primary, [...replicas, ...marina])
        : await net.cutOneWay([...replicas, ...marina], primary);
      break;
    default: {
      const never: never = kind;
      throw new Error(`unknown network fault ${String(never)}`);
    }
  }
  await sleep(ms);
  await cut.heal();
  return cut.description;
}
