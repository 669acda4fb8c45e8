import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import {
  changeMaster,
  countRows,
  findLabProcesses,
  type Lab,
  startLab,
  waitForConvergence,
  writeRows,
} from "../src/index.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("lab lifecycle", () => {
  it("runs NATS with JetStream, survives stop/start and kill -9, then close() leaves nothing", async () => {
    let lab: Lab | undefined;
    try {
      lab = await startLab({ nodes: 2, nats: true });
      const nats = lab.nats;
      if (!nats) throw new Error("expected nats");

      const nc = await connect({ servers: nats.url });
      const kv = await new Kvm(nc).create("lab");
      await kv.put("k", "v1");
      await nc.close();

      await nats.stop();
      expect(nats.isRunning()).toBe(false);
      await nats.start();
      const nc2 = await connect({ servers: nats.url });
      expect((await (await new Kvm(nc2).open("lab")).get("k"))?.string()).toBe("v1");
      await nc2.close();

      await nats.kill9();
      await nats.restart();
      const nc3 = await connect({ servers: nats.url });
      await nc3.flush();
      await nc3.close();

      // A graceful stop/start of a node keeps its data and port.
      const [db1] = lab.nodes;
      if (!db1) throw new Error("expected db1");
      await writeRows(db1, 2);
      const port = db1.port;
      await db1.stop();
      expect(db1.isRunning()).toBe(false);
      await db1.start();
      expect(db1.port).toBe(port);
      expect(await db1.query("SELECT COUNT(*) AS n FROM app.lab_rows")).toEqual([{ n: 2 }]);

      // Nodes added later join the lab (and its teardown); an empty one is a restore target.
      const db3 = await lab.addNode();
      expect([db3.name, db3.serverId]).toEqual(["db3", 3]);
      await changeMaster(db3, db1);
      await waitForConvergence([db1, db3], { timeoutMs: 10_000 });
      expect(await countRows(db3, "lab_rows")).toBe(2);
      const bare = await lab.addNode({ init: false });
      expect(bare.isRunning()).toBe(false);
      expect(await readdir(bare.datadir)).toEqual([]);

      await db1.sigstop(); // close() must still be able to end a stopped process
      const pids = [...lab.nodes.map((n) => n.pid), nats.pid].filter(
        (p): p is number => p !== undefined,
      );
      expect(pids).toHaveLength(4);
      const dir = lab.dir;
      expect(dir).toContain("marina-lab-");

      await lab.close();
      expect(lab.closed).toBe(true);
      for (const pid of pids) expect(alive(pid)).toBe(false);
      expect(findLabProcesses(dir)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
      await lab.close(); // twice is fine
    } finally {
      await lab?.close();
    }
  });

  it("tears down what it started when the start fails", async () => {
    const parent = await mkdtemp(join(tmpdir(), "marina-lab-parent-"));
    try {
      await expect(
        startLab({ parentDir: parent, nodes: 2, mysqld: { no_such_option_for_the_lab: 1 } }),
      ).rejects.toMatchObject({ name: "LabError", code: "LAB_START_FAILED" });
      expect(await readdir(parent)).toEqual([]);
      expect(findLabProcesses(parent)).toEqual([]);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
