import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readlinkSync, statSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createNetwork,
  gtidContains,
  gtidOf,
  type Lab,
  type LabHost,
  type LabNetwork,
  type MariaNode,
  PartitionAt,
  type Peer,
  ROOT,
  replicaStatus,
  runServiceMain,
  startLab,
  sweepStaleNetworks,
  waitFor,
  waitForConvergence,
  waitForReplicating,
  writeRows,
} from "../src/index.js";

const RESERVATIONS = "/run/marina-lab-net";

function rootFirewall(): string {
  return ["filter", "nat", "mangle", "raw"]
    .map((t) => execFileSync("iptables", ["-t", t, "-S"], { encoding: "utf8" }))
    .join("");
}

function namespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter(Boolean);
}

function ofNetwork(index: number): string[] {
  return namespaces().filter((ns) => ns.startsWith(`mlab-${index}-`));
}

function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** Whether a TCP connection from the root namespace opens within `timeoutMs`. */
function tcpConnects(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

// A UDP endpoint: reports its port, prints every datagram it gets, sends on request
// ("<addr> <port> <token>" on stdin). Exits when its stdin closes (its owner died).
const PROBE = `
const s = require("node:dgram").createSocket("udp4");
s.on("message", (m) => process.stdout.write("got " + m + "\\n"));
s.bind(0, process.argv[1], () => process.stdout.write("port " + s.address().port + "\\n"));
process.stdin.on("end", () => process.exit(0));
require("node:readline").createInterface({ input: process.stdin }).on("line", (l) => {
  const [addr, port, token] = l.split(" ");
  s.send(token, Number(port), addr, () => {}); // EPERM (dropped on leaving) is fine
});
`;

interface Probe {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly got: Set<string>;
  readonly child: ChildProcess;
}

async function startProbe(name: string, address: string, host?: LabHost): Promise<Probe> {
  const argv = [process.execPath, "-e", PROBE, address];
  const [cmd, ...args] = (host ? host.wrap(argv) : argv) as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
  const got = new Set<string>();
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`probe ${name} exited (${code})`)));
    createInterface({ input: child.stdout! }).on("line", (l) => {
      const [kind, value] = l.split(" ");
      if (kind === "port") resolve(Number(value));
      if (kind === "got" && value) got.add(value);
    });
  });
  return { name, address, port, got, child };
}

/** Every ordered pair "a>b" whose datagram arrived. */
async function reachability(probes: readonly Probe[]): Promise<string[]> {
  const round = Math.random().toString(36).slice(2, 8);
  for (const p of probes) p.got.clear();
  for (const from of probes) {
    for (const to of probes) {
      if (from === to) continue;
      from.child.stdin!.write(`${to.address} ${to.port} ${round}:${from.name}>${to.name}\n`);
    }
  }
  await new Promise((r) => setTimeout(r, 400));
  return probes
    .flatMap((p) => [...p.got])
    .filter((t) => t.startsWith(`${round}:`))
    .map((t) => t.slice(round.length + 1))
    .sort();
}

function allPairs(names: readonly string[], except: readonly string[] = []): string[] {
  return names
    .flatMap((a) => names.filter((b) => b !== a).map((b) => `${a}>${b}`))
    .filter((p) => !except.includes(p))
    .sort();
}

describe.each([PartitionAt.Switch, PartitionAt.Hosts])("lab network, rules at the %s", (at) => {
  let net: LabNetwork;
  const probes: Probe[] = [];
  const names = ["root", "h1", "h2", "h3"];
  let firewallBefore: string;

  beforeAll(async () => {
    firewallBefore = rootFirewall();
    const t0 = Date.now();
    net = await createNetwork({ partitionAt: at });
    for (const n of ["h1", "h2", "h3"]) await net.addHost(n);
    console.info(`network ${net.index} with 3 hosts set up in ${Date.now() - t0} ms`);
    probes.push(await startProbe("root", net.rootAddress));
    for (const h of net.hosts) probes.push(await startProbe(h.name, h.address, h));
  });

  afterAll(async () => {
    for (const p of probes) p.child.kill("SIGKILL");
    await net?.close();
  });

  it("gives every host its own namespace and address, all reachable", async () => {
    expect(net.partitionAt).toBe(at);
    expect(net.rootAddress).toBe(`10.231.${net.index}.1`);
    expect(net.hosts.map((h) => [h.name, h.ns, h.address])).toEqual(
      [1, 2, 3].map((i) => [`h${i}`, `mlab-${net.index}-h${i}`, `10.231.${net.index}.${i + 1}`]),
    );
    expect(await reachability(probes)).toEqual(allPairs(names));
  });

  it("isolates, cuts groups and one way, heals one cut or all; never a root rule", async () => {
    const isolated = await net.isolate(net.host("h1"));
    expect(await reachability(probes)).toEqual(allPairs(names).filter((p) => !p.includes("h1")));
    const group = await net.cut([ROOT, "h2"], "h3");
    const oneWay = await net.cutOneWay("h3", ROOT);
    expect(net.partitions.map((p) => p.description)).toEqual([
      "isolate h1",
      "cut root,h2 | h3",
      "cut h3 -> root",
    ]);
    await isolated.heal();
    expect(isolated.active).toBe(false);
    expect(await reachability(probes)).toEqual(
      allPairs(names, ["root>h3", "h3>root", "h2>h3", "h3>h2"]),
    );
    await group.heal();
    expect(await reachability(probes)).toEqual(allPairs(names, ["h3>root"]));
    await oneWay.heal();
    const peers: Peer[] = [net.host("h1"), "h2"];
    await net.cutOneWay(peers, ["h3", ROOT]);
    expect(await reachability(probes)).toEqual(
      allPairs(names, ["h1>h3", "h1>root", "h2>h3", "h2>root"]),
    );
    expect(rootFirewall()).toBe(firewallBefore);
    await net.heal();
    expect(net.partitions).toEqual([]);
    expect(await reachability(probes)).toEqual(allPairs(names));
  });

  it("runs a service main inside a host", async () => {
    const main = join(tmpdir(), `mlab-main-${process.pid}.mjs`);
    await writeFile(
      main,
      'import { readlinkSync } from "node:fs";\nconsole.log(readlinkSync("/proc/self/ns/net"), process.argv[2]);\n',
    );
    try {
      const h2 = net.host("h2");
      const run = runServiceMain(main, ["hello"], {}, { host: h2 });
      expect(await run.exit).toEqual({ code: 0, signal: null });
      expect(run.stdout.trim()).toBe(`net:[${statSync(join("/run/netns", h2.ns)).ino}] hello`);
    } finally {
      await rm(main, { force: true });
    }
  });

  it("refuses nonsense", async () => {
    await expect(net.cut("h1", ["h1", "h2"])).rejects.toThrow(/both sides/);
    await expect(net.isolate(ROOT)).rejects.toThrow(/cannot be isolated/);
    await expect(net.cut("nope", "h1")).rejects.toThrow(/no host named nope/);
    await expect(net.addHost("h1")).rejects.toThrow(/exists already/);
  });
});

/** Waits until no replication connection of `node` has its IO thread connected. */
function waitDisconnected(node: MariaNode, timeoutMs = 15_000) {
  return waitFor(
    async () => (await replicaStatus(node)).every((c) => c.ioRunning !== "Yes") || undefined,
    { timeoutMs, intervalMs: 100, message: `${node.name}'s IO thread disconnected` },
  );
}

/** Writes on db1 over its socket, then checks which replicas get it within `settleMs`. */
async function writeAndSee(lab: Lab, expectReached: string[], expectMissed: string[]) {
  const [db1] = lab.nodes as [MariaNode];
  await writeRows(db1, 1, { user: "root" });
  const target = (await gtidOf(db1)).binlogPos;
  const reached = lab.nodes.filter((n) => expectReached.includes(n.name));
  await waitForConvergence([db1, ...reached], { sources: [db1], timeoutMs: 15_000 });
  await new Promise((r) => setTimeout(r, 1_500));
  for (const name of expectMissed) {
    expect(gtidContains((await gtidOf(lab.node(name))).slavePos, target), name).toBe(false);
  }
}

describe("a hosts lab", () => {
  let lab: Lab;
  let net: LabNetwork;
  let firewallBefore: string;

  beforeAll(async () => {
    firewallBefore = rootFirewall();
    const t0 = Date.now();
    lab = await startLab({ hosts: true, nodes: 3, nats: false });
    console.info(`hosts lab up in ${Date.now() - t0} ms`);
    net = lab.network as LabNetwork;
  });

  afterAll(async () => {
    await lab?.close();
  });

  it("runs each mariadbd in its host, replicating across the bridge", async () => {
    expect(net).toBeDefined();
    for (const n of lab.nodes) {
      const host = lab.hostOf(n.name);
      expect(n.host).toBe(host.address);
      expect(n.host).toMatch(/^10\.231\.\d+\.\d+$/);
      expect(n.netns).toBe(host.ns);
      expect(n.port).toBe(3306);
      // The pid is mariadbd's own, inside the host's namespace.
      const pid = n.pid as number;
      expect(readlinkSync(`/proc/${pid}/exe`)).toMatch(/mariadbd$/);
      expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(
        `net:[${statSync(join("/run/netns", host.ns)).ino}]`,
      );
    }
    const status = await replicaStatus(lab.node("db2"));
    expect(status[0]?.masterHost).toBe(lab.hostOf("db1").address);
    await writeRows(lab.primary, 3); // as `app`, over TCP from the root namespace
    await waitForConvergence(lab.nodes);
    expect(lab.info().nodes.map((n) => n.netns)).toEqual(lab.nodes.map((n) => n.netns));
    expect(lab.info().network?.rootAddress).toBe(net.rootAddress);
  });

  it("isolate(db1): replicas disconnect, the root cannot reach it; its socket can; heal resumes", async () => {
    const [db1, db2, db3] = lab.nodes as [MariaNode, MariaNode, MariaNode];
    const isolated = await net.isolate(lab.hostOf("db1"));
    const t0 = Date.now();
    await Promise.all([waitDisconnected(db2), waitDisconnected(db3)]);
    console.info(`replicas noticed db1's isolation after ${Date.now() - t0} ms`);
    expect(await tcpConnects(db1.host, db1.port)).toBe(false);
    expect(await tcpConnects(db2.host, db2.port)).toBe(true);
    expect(db1.isRunning()).toBe(true);
    expect(await db1.query("SELECT 1 AS ok")).toEqual([{ ok: 1 }]);
    await writeAndSee(lab, [], ["db2", "db3"]);

    await isolated.heal();
    const t1 = Date.now();
    await Promise.all([waitForReplicating(db2), waitForReplicating(db3)]);
    await waitForConvergence(lab.nodes);
    console.info(`replication resumed ${Date.now() - t1} ms after heal`);
  });

  it("cut(db1, db2): db3 still replicates, db2 does not", async () => {
    const [, db2] = lab.nodes as [MariaNode, MariaNode];
    const cut = await net.cut(lab.hostOf("db1"), lab.hostOf("db2"));
    await waitDisconnected(db2);
    expect((await replicaStatus(lab.node("db3")))[0]?.ioRunning).toBe("Yes");
    await writeAndSee(lab, ["db3"], ["db2"]);
    await cut.heal();
    await waitForReplicating(db2);
    await waitForConvergence(lab.nodes);
  });

  it("cutOneWay(db1 -> db3): db3 hears nothing from db1, db2 is unaffected", async () => {
    const [, , db3] = lab.nodes as [MariaNode, MariaNode, MariaNode];
    await net.cutOneWay("db1", "db3");
    await waitDisconnected(db3);
    await writeAndSee(lab, ["db2"], ["db3"]);
    await net.heal();
    await waitForReplicating(db3);
    await waitForConvergence(lab.nodes);
  });

  it("a group cut: [db1, root] | [db2, db3] splits the replicas and the root", async () => {
    const [db1, db2, db3] = lab.nodes as [MariaNode, MariaNode, MariaNode];
    await net.cut([lab.hostOf("db1"), ROOT], [lab.hostOf("db2"), lab.hostOf("db3")]);
    await Promise.all([waitDisconnected(db2), waitDisconnected(db3)]);
    expect(await tcpConnects(db1.host, db1.port)).toBe(true);
    expect(await tcpConnects(db2.host, db2.port)).toBe(false);
    expect(await tcpConnects(db3.host, db3.port)).toBe(false);
    await net.heal();
    await Promise.all([waitForReplicating(db2), waitForReplicating(db3)]);
    await waitForConvergence(lab.nodes);
  });

  it("addNode gets its own host; SIGSTOP and kill -9 reach the real mariadbd", async () => {
    const db4 = await lab.addNode();
    const host = lab.hostOf("db4");
    expect(db4.host).toBe(host.address);
    const pid = db4.pid as number;
    expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(
      `net:[${statSync(join("/run/netns", host.ns)).ino}]`,
    );
    await db4.sigstop();
    await expect(db4.query("SELECT 1", [], { timeoutMs: 500 })).rejects.toThrow();
    await db4.sigcont();
    expect(await db4.query("SELECT 1 AS ok", [], { timeoutMs: 5_000 })).toEqual([{ ok: 1 }]);
    await db4.kill9();
    expect(db4.isRunning()).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
    await db4.start();
    expect(await db4.query("SELECT 1 AS ok")).toEqual([{ ok: 1 }]);
  });

  it("close() removes every namespace, link, rule and the reservation", async () => {
    const index = net.index;
    const mine = ofNetwork(index);
    expect(mine.sort()).toEqual(
      [...lab.nodes.map((n) => n.name), "sw"].map((h) => `mlab-${index}-${h}`).sort(),
    );
    await net.isolate("db2"); // a rule left active: close must still clean up
    await lab.close();
    await lab.close();
    expect(net.closed).toBe(true);
    expect(namespaces().filter((ns) => mine.includes(ns))).toEqual([]);
    expect(linkExists(net.rootLink)).toBe(false);
    expect(existsSync(join(RESERVATIONS, String(index)))).toBe(false);
    expect(rootFirewall()).toBe(firewallBefore);
  });
});

describe("an owner that never calls close()", () => {
  it.each([["exits"], ["SIGTERM"]])("%s: its exit hook removes the network", async (how) => {
    const dist = join(import.meta.dirname, "../dist/netns.js");
    const script = `
      const { createNetwork } = await import(${JSON.stringify(dist)});
      const net = await createNetwork();
      await net.addHost("a");
      await net.cut("a", "@root");
      process.stdout.write(JSON.stringify({ index: net.index, link: net.rootLink }) + "\\n");
      if (process.argv[1] === "exits") process.exit(0);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, how], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise((r) => child.once("exit", r));
    try {
      const line = await new Promise<string>((resolve) => {
        createInterface({ input: child.stdout! }).once("line", resolve);
      });
      const { index, link } = JSON.parse(line) as { index: number; link: string };
      if (how === "SIGTERM") child.kill("SIGTERM");
      await exited;
      expect(ofNetwork(index)).toEqual([]);
      expect(linkExists(link)).toBe(false);
      expect(existsSync(join(RESERVATIONS, String(index)))).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("sweepStaleNetworks", () => {
  it("removes a SIGKILLed owner's network, never a live one's", async () => {
    const live = await createNetwork();
    let child: ChildProcess | undefined;
    try {
      await live.addHost("a");
      const dist = join(import.meta.dirname, "../dist/netns.js");
      const script = `
        const { createNetwork } = await import(${JSON.stringify(dist)});
        const net = await createNetwork();
        await net.addHost("a");
        await net.isolate("a");
        process.stdout.write(JSON.stringify({ index: net.index, link: net.rootLink }) + "\\n");
        setInterval(() => {}, 1000);
      `;
      child = spawn(process.execPath, ["--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const line = await new Promise<string>((resolve, reject) => {
        child?.once("exit", (code) => reject(new Error(`child exited (${code})`)));
        createInterface({ input: child!.stdout! }).once("line", resolve);
      });
      const { index, link } = JSON.parse(line) as { index: number; link: string };
      const pid = child.pid as number;
      child.kill("SIGKILL");
      await new Promise((r) => child?.once("exit", r));
      expect(ofNetwork(index).sort()).toEqual([`mlab-${index}-a`, `mlab-${index}-sw`]);
      expect(existsSync(join(RESERVATIONS, String(index)))).toBe(true);

      const swept = await sweepStaleNetworks();
      const gone = swept.find((s) => s.index === index);
      expect(gone?.holder?.pid).toBe(pid);
      expect(gone?.failures).toEqual([]);
      expect(swept.map((s) => s.index)).not.toContain(live.index);
      expect(ofNetwork(index)).toEqual([]);
      expect(linkExists(link)).toBe(false);
      expect(existsSync(join(RESERVATIONS, String(index)))).toBe(false);
      expect(ofNetwork(live.index).sort()).toEqual([
        `mlab-${live.index}-a`,
        `mlab-${live.index}-sw`,
      ]);
    } finally {
      child?.kill("SIGKILL");
      await live.close();
    }
  });
});
