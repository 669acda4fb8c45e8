// NATS in hosts mode: every nats-server on a host of its own (nats1…natsN) listening on its
// address, partitioned like a database host; and what a partition does to the routes of a
// busy JetStream cluster: nats-server 2.9 sends no route PING while it writes to the route
// (raft does, every second), so the route to a partitioned node outlives `ping_interval: 1s`
// × `ping_max: 2` and lasts until TCP gives up (`natsTcpRetries2`).
import { execFileSync } from "node:child_process";
import { readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { type Lab, sleep, startLab } from "../src/index.js";

/** Names of the nodes `node` has a route to, from its monitoring endpoint. */
async function routesOf(lab: Lab, name: string, ids: Map<string, string>): Promise<string[]> {
  const url = lab.natsCluster!.node(name).monitorUrl!;
  const r = (await (
    await fetch(`${url}/routez`, { signal: AbortSignal.timeout(1_000) })
  ).json()) as {
    routes?: Array<{ remote_id: string }>;
  };
  return (r.routes ?? []).map((x) => ids.get(x.remote_id) ?? x.remote_id).sort();
}

async function serverIds(lab: Lab): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of lab.natsCluster!.nodes) {
    const v = (await (await fetch(`${n.monitorUrl}/varz`)).json()) as { server_id: string };
    out.set(v.server_id, n.name);
  }
  return out;
}

const netnsOf = (pid: number) => readlinkSync(`/proc/${pid}/ns/net`);
const inodeOf = (ns: string) => `net:[${statSync(join("/run/netns", ns)).ino}]`;

/**
 * A client on nats2 putting to an R3 bucket every 100 ms (raft traffic on every route),
 * nats1 isolated: how long nats2 and nats3 keep a route to it (undefined: still at `maxMs`).
 */
async function routeLifetime(lab: Lab, maxMs: number) {
  const ids = await serverIds(lab);
  const nc: NatsConnection = await connect({
    servers: [lab.natsCluster!.node("nats2").url],
    ignoreClusterUpdates: true,
  });
  let stop = false;
  try {
    const kv = await new Kvm(nc).create("lab_busy", { replicas: 3 });
    const writing = (async () => {
      while (!stop) {
        await kv.put("k", String(Date.now())).catch(() => {});
        await sleep(100);
      }
    })();
    await sleep(1_500);
    const cut = await lab.network!.isolate("nats1");
    const t0 = performance.now();
    const gone: Record<string, number | undefined> = { nats2: undefined, nats3: undefined };
    while (performance.now() - t0 < maxMs && Object.values(gone).includes(undefined)) {
      for (const n of ["nats2", "nats3"]) {
        if (gone[n] === undefined && !(await routesOf(lab, n, ids)).includes("nats1")) {
          gone[n] = Math.round(performance.now() - t0);
        }
      }
      await sleep(250);
    }
    stop = true;
    await writing;
    await cut.heal();
    return gone;
  } finally {
    stop = true;
    await nc.close();
  }
}

describe("NATS in hosts mode", () => {
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.close();
    lab = undefined;
  });

  it("puts every node of a cluster on its own host, on its address, with the lab's pings", async () => {
    lab = await startLab({ hosts: true, nodes: 1, natsNodes: 3 });
    const net = lab.network!;
    for (const n of lab.natsCluster!.nodes) {
      const host = lab.hostOf(n.name);
      expect(n.host).toBe(host.address);
      expect(n.url).toBe(`nats://${host.address}:4222`);
      expect(n.routeUrl).toBe(`nats-route://${host.address}:6222`);
      expect(netnsOf(n.pid!)).toBe(inodeOf(host.ns));
      expect(readFileSync(n.configFile, "utf8")).toMatch(/ping_interval: "1s"\nping_max: 2\n/);
    }
    expect(lab.natsUrls).toEqual(lab.natsCluster!.nodes.map((n) => n.url));
    // The root namespace reaches them; a cut node does not answer it, the others still do.
    const nc = await connect({ servers: [...lab.natsUrls], timeout: 2_000 });
    try {
      expect(nc.info?.cluster).toBe("marina-lab");
      const cut = await net.isolate("nats3");
      await expect(
        connect({ servers: [lab.natsCluster!.node("nats3").url], timeout: 1_000 }),
      ).rejects.toThrow();
      const other = await connect({ servers: [lab.natsCluster!.node("nats2").url] });
      await other.close();
      await cut.heal();
      await lab.natsCluster!.waitForJetStream();
    } finally {
      await nc.close();
    }
  });

  it("puts a single nats-server on host nats1", async () => {
    lab = await startLab({ hosts: true, nodes: 1 });
    const host = lab.hostOf("nats1");
    expect(lab.nats?.name).toBe("nats1");
    expect(lab.natsUrls).toEqual([`nats://${host.address}:4222`]);
    expect(netnsOf(lab.nats!.pid!)).toBe(inodeOf(host.ns));
    // A standalone server keeps nats-server's default pings.
    expect(readFileSync(lab.nats!.configFile, "utf8")).not.toMatch(/ping_interval/);
    await expect(startLab({ nodes: 1, natsTcpRetries2: 3 })).rejects.toThrow(/hosts: true/);
  });

  it("a busy route to a partitioned node outlives the pings; tcp_retries2=3 ends it in seconds", async () => {
    // The kernel's default (15), then the lab's default for a NATS cluster in hosts (3).
    lab = await startLab({ hosts: true, nodes: 1, natsNodes: 3, natsTcpRetries2: 15 });
    const kept = await routeLifetime(lab, 10_000);
    await lab.close();
    lab = await startLab({ hosts: true, nodes: 1, natsNodes: 3 });
    for (const n of lab.natsCluster!.nodes) {
      const argv = lab.hostOf(n.name).wrap(["cat", "/proc/sys/net/ipv4/tcp_retries2"]);
      expect(execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8" }).trim()).toBe("3");
    }
    const dropped = await routeLifetime(lab, 20_000);
    const show = (g: Record<string, number | undefined>) =>
      Object.entries(g)
        .map(([n, ms]) => `${n} ${ms === undefined ? "kept" : `${ms} ms`}`)
        .join(", ");
    console.log(
      `route to an isolated nats1 dropped after: kernel defaults ${show(kept)} (10 s watched); ` +
        `tcp_retries2=3 ${show(dropped)}`,
    );
    // Pings alone: at least one node (the one writing raft to it) keeps routing to it.
    expect(Object.values(kept)).toContain(undefined);
    // TCP giving up: both drop it within seconds.
    expect(Object.values(dropped).every((ms) => ms !== undefined && ms < 15_000)).toBe(true);
  });
});
