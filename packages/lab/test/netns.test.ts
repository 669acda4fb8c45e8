import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  addressOf,
  hostNamespace,
  netnsExec,
  networkOfNamespace,
  networkOfRootLink,
  rootLinkName,
  subnetOf,
  switchNamespace,
} from "../src/netns-names.js";
import {
  claimStaleReservations,
  formatHolder,
  parseClaimName,
  parseHolder,
  releaseIndexSync,
  reserveIndex,
  selfHolder,
  tryReserve,
} from "../src/netns-reservation.js";
import {
  cutRules,
  type Endpoint,
  isolateRules,
  oneWayRules,
  PartitionAt,
  restoreScript,
  rulesByNamespace,
} from "../src/partition.js";

describe("lab network names", () => {
  it("tags every name with the network index, interface names within 15 characters", () => {
    expect(subnetOf(7)).toBe("10.231.7.0/24");
    expect(addressOf(7, 1)).toBe("10.231.7.1");
    expect(addressOf(254, 254)).toBe("10.231.254.254");
    expect(switchNamespace(7)).toBe("mlab-7-sw");
    expect(hostNamespace(7, "db1")).toBe("mlab-7-db1");
    expect(rootLinkName(254)).toBe("mlab254r");
    expect(rootLinkName(254).length).toBeLessThanOrEqual(15);
  });

  it.each([
    ["mlab-7-db1", 7],
    ["mlab-254-sw", 254],
    ["mlab-0-db1", undefined],
    ["mlab-255-db1", undefined],
    ["mlabx-7-db1", undefined],
    ["other", undefined],
  ])("namespace %s belongs to network %s", (name, index) => {
    expect(networkOfNamespace(name)).toBe(index);
  });

  it.each([
    ["mlab7r", 7],
    ["mlab254r", 254],
    ["mlab7", undefined],
    ["eth0", undefined],
  ])("root link %s belongs to network %s", (name, index) => {
    expect(networkOfRootLink(name)).toBe(index);
  });

  it.each([["sw"], ["DB1"], [""], ["a b"], ["-x"], ["x".repeat(41)]])(
    "refuses host name %j",
    (name) => {
      expect(() => hostNamespace(1, name)).toThrow(/bad lab host name/);
    },
  );

  it.each([[0], [255], [1.5]])("refuses network index %s", (index) => {
    expect(() => subnetOf(index)).toThrow(/bad lab network index/);
  });

  it("refuses host numbers beyond the subnet", () => {
    expect(() => addressOf(1, 255)).toThrow(/no room/);
  });

  it("wraps argv in ip netns exec", () => {
    expect(netnsExec("mlab-1-db1", ["mariadbd", "--x"])).toEqual([
      "ip",
      "netns",
      "exec",
      "mlab-1-db1",
      "mariadbd",
      "--x",
    ]);
    expect(netnsExec("n", ["a"], "/usr/sbin/ip")[0]).toBe("/usr/sbin/ip");
    expect(() => netnsExec("n", [])).toThrow();
  });
});

const root: Endpoint = { name: "root", ns: undefined, address: "10.231.1.1" };
const db1: Endpoint = { name: "db1", ns: "mlab-1-db1", address: "10.231.1.2" };
const db2: Endpoint = { name: "db2", ns: "mlab-1-db2", address: "10.231.1.3" };
const db3: Endpoint = { name: "db3", ns: "mlab-1-db3", address: "10.231.1.4" };
const atSwitch = { at: PartitionAt.Switch, switchNs: "mlab-1-sw" };
const atHosts = { at: PartitionAt.Hosts, switchNs: "mlab-1-sw" };

describe("partition rules", () => {
  it("at the switch: FORWARD rules by address, in the switch namespace only", () => {
    expect(cutRules(atSwitch, [db1], [db2, root], false)).toEqual([
      { ns: "mlab-1-sw", chain: "FORWARD", match: ["-s", "10.231.1.2", "-d", "10.231.1.3"] },
      { ns: "mlab-1-sw", chain: "FORWARD", match: ["-s", "10.231.1.3", "-d", "10.231.1.2"] },
      { ns: "mlab-1-sw", chain: "FORWARD", match: ["-s", "10.231.1.2", "-d", "10.231.1.1"] },
      { ns: "mlab-1-sw", chain: "FORWARD", match: ["-s", "10.231.1.1", "-d", "10.231.1.2"] },
    ]);
    expect(isolateRules(atSwitch, db1)).toEqual([
      { ns: "mlab-1-sw", chain: "FORWARD", match: ["-s", "10.231.1.2"] },
      { ns: "mlab-1-sw", chain: "FORWARD", match: ["-d", "10.231.1.2"] },
    ]);
  });

  it("at the hosts: dropped on arrival, or on leaving the host when the root receives", () => {
    expect(oneWayRules(atHosts, db1, db2)).toEqual([
      { ns: "mlab-1-db2", chain: "INPUT", match: ["-s", "10.231.1.2"] },
    ]);
    expect(oneWayRules(atHosts, root, db2)).toEqual([
      { ns: "mlab-1-db2", chain: "INPUT", match: ["-s", "10.231.1.1"] },
    ]);
    expect(oneWayRules(atHosts, db2, root)).toEqual([
      { ns: "mlab-1-db2", chain: "OUTPUT", match: ["-d", "10.231.1.1"] },
    ]);
    expect(isolateRules(atHosts, db3)).toEqual([
      { ns: "mlab-1-db3", chain: "INPUT", match: ["-i", "eth0"] },
      { ns: "mlab-1-db3", chain: "OUTPUT", match: ["-o", "eth0"] },
    ]);
  });

  it("one-way cuts of groups: every pair, one direction", () => {
    const rules = cutRules(atSwitch, [db1, db2], [db3], true);
    expect(rules.map((r) => r.match.join(" "))).toEqual([
      "-s 10.231.1.2 -d 10.231.1.4",
      "-s 10.231.1.3 -d 10.231.1.4",
    ]);
  });

  it("never puts a rule in the root namespace", () => {
    for (const place of [atSwitch, atHosts]) {
      for (const [a, b] of [
        [root, db1],
        [db1, root],
        [db1, db2],
      ] as const) {
        for (const r of cutRules(place, [a], [b], false)) expect(r.ns).toMatch(/^mlab-1-/);
      }
    }
    expect(() => isolateRules(atSwitch, root)).toThrow(/cannot be isolated/);
  });

  it("refuses overlapping or empty sides", () => {
    expect(() => cutRules(atSwitch, [db1, db2], [db2], false)).toThrow(/both sides/);
    expect(() => cutRules(atSwitch, [], [db2], false)).toThrow(/each side/);
    expect(() => oneWayRules(atHosts, db1, db1)).toThrow(/from itself/);
  });

  it("renders one tagged iptables-restore script per namespace", () => {
    const rules = cutRules(atHosts, [db1], [db2, db3], false);
    const byNs = rulesByNamespace(rules);
    expect([...byNs.keys()]).toEqual(["mlab-1-db2", "mlab-1-db1", "mlab-1-db3"]);
    expect(restoreScript(byNs.get("mlab-1-db1") ?? [], "-A", "mlab-1-p3")).toBe(
      [
        "*filter",
        "-A INPUT -s 10.231.1.3 -m comment --comment mlab-1-p3 -j DROP",
        "-A INPUT -s 10.231.1.4 -m comment --comment mlab-1-p3 -j DROP",
        "COMMIT",
        "",
      ].join("\n"),
    );
    expect(() => restoreScript(rules, "-D", "bad comment")).toThrow(/bad rule comment/);
  });
});

describe("network reservations", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlab-reservation-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("formats and parses holders and claims", () => {
    const h = { pid: 12, start: "3456", run: "abc" };
    expect(parseHolder(formatHolder(h))).toEqual(h);
    expect(parseHolder("12 3456\n")).toEqual({ pid: 12, start: "3456" });
    expect(parseHolder("garbage")).toBeUndefined();
    expect(parseClaimName("claim.12.3456")).toEqual({ pid: 12, start: "3456" });
    expect(parseClaimName("owner")).toBeUndefined();
  });

  it("hands out each index once, and again after release", async () => {
    const got = await Promise.all([1, 2, 3, 4].map(() => reserveIndex(new Set([1]), dir)));
    expect(new Set(got).size).toBe(4);
    expect(got).not.toContain(1);
    expect(await tryReserve(got[0] as number, dir)).toBe(false);
    const owner = parseHolder(await readFile(join(dir, String(got[0]), "owner"), "utf8"));
    expect(owner?.pid).toBe(process.pid);
    releaseIndexSync(got[0] as number, dir);
    expect(await tryReserve(got[0] as number, dir)).toBe(true);
    expect((await readdir(dir)).filter((e) => e.startsWith("."))).toEqual([]);
  });

  it("claims only reservations of dead holders, each once", async () => {
    const dead = { pid: 999_999_999, start: "1" }; // above any pid_max
    await mkdir(join(dir, "5"));
    await writeFile(join(dir, "5", "owner"), formatHolder({ ...dead, run: "r1" }));
    await mkdir(join(dir, "6"));
    await writeFile(join(dir, "6", `claim.${dead.pid}.${dead.start}`), formatHolder(dead));
    expect(await tryReserve(7, dir)).toBe(true); // ours, alive
    await mkdir(join(dir, `.new.${dead.pid}.1.ab`));

    const claims = await Promise.all([claimStaleReservations(dir), claimStaleReservations(dir)]);
    const all = claims.flat().sort((a, b) => a.index - b.index);
    expect(all.map((c) => c.index)).toEqual([5, 6]);
    expect(all[0]?.holder).toEqual({ ...dead, run: "r1" });
    const me = selfHolder();
    expect(await readdir(join(dir, "5"))).toEqual([`claim.${me.pid}.${me.start}`]);
    // Claimed by a live process (us): not claimable again.
    expect(await claimStaleReservations(dir)).toEqual([]);
    releaseIndexSync(5, dir);
    releaseIndexSync(6, dir);
    releaseIndexSync(7, dir);
    expect(await readdir(dir)).toEqual([]);
  });
});
