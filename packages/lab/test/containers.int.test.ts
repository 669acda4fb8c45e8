// The containers backend itself (MARINA_LAB_BACKEND=containers; skipped on the native
// backend): two addresses per server, faults as container operations, clean removal, the
// sweep of what a dead runner left, and clear refusals of what it cannot do yet.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { LabBackend, labBackendFromEnv } from "../src/backend.js";
import {
  engine,
  engineInfo,
  LABEL_LAB,
  LABEL_OWNER_PID,
  sweepContainers,
} from "../src/containers/engine.js";
import { labImages } from "../src/containers/images.js";
import { macAddress } from "../src/containers/network.js";
import { replicaStatus, startLab, waitForReplicating } from "../src/index.js";
import { useLab } from "../src/vitest.js";

const onContainers = labBackendFromEnv() === LabBackend.Containers;

/** The container's IP and MAC address on its (only) network, as the engine reports them. */
async function containerAddresses(container: string): Promise<{ ip: string; mac: string }> {
  const info = await (await engine()).getContainer(container).inspect();
  const [net] = Object.values(info.NetworkSettings.Networks);
  expect(net?.IPAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  expect(net?.MacAddress).toBe(macAddress(net?.IPAddress as string));
  return { ip: net?.IPAddress as string, mac: net?.MacAddress as string };
}

describe.skipIf(!onContainers)("containers backend", () => {
  const getLab = useLab({ nodes: 2, semiSync: true });

  it("gives each server two addresses: a mapped port here, its alias on the lab network", async () => {
    const lab = getLab();
    const info = lab.info();
    const { host } = await engineInfo();
    expect(info.backend).toBe("containers");
    for (const n of info.nodes) {
      expect(n.host).toBe(host);
      expect(n.replicationAddress).toEqual({ host: n.name, port: 3306 });
      expect(n.container).toMatch(new RegExp(`^marina-lab-${process.pid}-[0-9a-f]+-${n.name}$`));
    }
    const [link] = await replicaStatus(lab.node("db2"));
    expect(link).toMatchObject({ masterHost: "db1", masterPort: 3306, ioRunning: "Yes" });
    expect(lab.natsUrls).toEqual([`nats://${host}:${lab.nats?.port}`]);
  });

  it("kill -9 is the engine's SIGKILL; a start runs crash recovery in the same container, at the same IP and MAC address", async () => {
    const lab = getLab();
    const db2 = lab.node("db2");
    const address = () => containerAddresses(lab.node("db2").container as string);
    const before = await address();
    const pid = db2.pid;
    expect(pid).toBeGreaterThan(0);
    await db2.kill9();
    expect(db2.isRunning()).toBe(false);
    expect(db2.pid).toBeUndefined();
    await db2.start();
    expect(db2.pid).not.toBe(pid);
    expect(await address()).toEqual(before);
    await waitForReplicating(db2);
  });

  it("names every server in every container's /etc/hosts, at its fixed address (no DNS)", async () => {
    const lab = getLab();
    const docker = await engine();
    const hosts = async (node: string) =>
      (await docker.getContainer(lab.node(node).container as string).inspect()).HostConfig
        .ExtraHosts;
    const db1 = (await containerAddresses(lab.node("db1").container as string)).ip;
    const db2 = (await containerAddresses(lab.node("db2").container as string)).ip;
    for (const node of ["db1", "db2"]) {
      expect(await hosts(node)).toEqual(expect.arrayContaining([`db1:${db1}`, `db2:${db2}`]));
    }
  });

  it("SIGSTOP is a pause: nothing answers until SIGCONT", async () => {
    const db2 = getLab().node("db2");
    await db2.sigstop();
    try {
      await expect(db2.query("SELECT 1", [], { timeoutMs: 500 })).rejects.toBeDefined();
      expect(db2.isRunning()).toBe(true);
    } finally {
      await db2.sigcont();
    }
    expect(await db2.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
  });

  it("kill -9 of a paused server: down without answering again, then starts", async () => {
    const db2 = getLab().node("db2");
    await db2.sigstop();
    await db2.kill9();
    expect(db2.isRunning()).toBe(false);
    await expect(db2.query("SELECT 1", [], { timeoutMs: 500 })).rejects.toBeDefined();
    await db2.start();
    await waitForReplicating(db2);
  });

  it("removes its containers and network on close", async () => {
    const lab = await startLab({ nodes: 1, nats: false });
    const name = lab.primary.container as string;
    const network = name.replace(/-db1$/, "");
    await lab.close();
    const docker = await engine();
    const left = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ name: [name] }),
    });
    expect(left).toEqual([]);
    expect((await docker.listNetworks()).map((n) => n.Name)).not.toContain(network);
  });

  it("sweeps the containers of a runner that died (no Ryuk)", async () => {
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
    const docker = await engine();
    const name = `marina-lab-${dead}-swept-db1`;
    await docker.createContainer({
      name,
      Image: labImages().mariadb,
      Entrypoint: ["/bin/true"],
      Labels: { [LABEL_LAB]: "1", [LABEL_OWNER_PID]: String(dead) },
    });
    const swept = await sweepContainers({ docker });
    expect(swept.containers).toContain(name);
    const left = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ name: [name] }),
    });
    expect(left).toEqual([]);
  });

  it("refuses what it cannot do yet, by name", async () => {
    await expect(startLab({ hosts: true })).rejects.toThrow(
      /not available on the containers backend.*hosts \(network namespaces/,
    );
    await expect(startLab({ tls: true, natsNodes: 3 })).rejects.toThrow(/tls.*natsNodes > 1/);
  });
});
