// A TLS lab: the CA and certificates made with openssl; replication over TLS with the
// source's certificate verified; Marina's accounts REQUIRE SSL (a plaintext login is
// refused); a 3-node NATS cluster whose routes and clients use TLS (JetStream answers
// through every node, which needs the routes), and no client gets in without TLS.
import { readFile } from "node:fs/promises";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab, openConnection, readNatsInfo, startLab } from "../src/index.js";

describe("a TLS lab", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ nodes: 2, tls: true, natsNodes: 3 });
  });
  afterAll(async () => {
    await lab?.close();
  });

  it("replicates over TLS with the certificate verified", async () => {
    const [link] = (await lab.node("db2").query("SHOW ALL SLAVES STATUS")) as Array<
      Record<string, unknown>
    >;
    expect(link).toMatchObject({
      Slave_IO_Running: "Yes",
      Master_SSL_Allowed: "Yes",
      Master_SSL_Verify_Server_Cert: "Yes",
      Master_SSL_CA_File: lab.tls!.caFile,
    });
  });

  it("refuses Marina's account over plain TCP, and takes it over TLS", async () => {
    const db1 = lab.node("db1");
    const marina = lab.credentials.marina;
    const plain = { user: marina.user, password: marina.password, host: db1.host, port: db1.port };
    await expect(openConnection(plain)).rejects.toThrow(/Access denied/i);
    const conn = await db1.connect({ user: "marina", via: "tcp" });
    try {
      const [row] = (await conn.query("SHOW SESSION STATUS LIKE 'Ssl_version'")) as Array<{
        Value: string;
      }>;
      expect(row?.Value).toMatch(/^TLS/);
    } finally {
      await conn.end();
    }
  });

  it("runs the NATS cluster over TLS: clients need the CA, the certificate names the host", async () => {
    for (const node of lab.natsCluster!.nodes) {
      expect((await readNatsInfo(node.host, node.port, 2_000)).tls_required).toBe(true);
    }
    await expect(connect({ servers: lab.nats!.url, timeout: 2_000 })).rejects.toThrow();
    const ca = await readFile(lab.tls!.caFile, "utf8");
    const u = lab.natsUsers!.lab;
    const nc = await connect({
      servers: [...lab.natsUrls],
      user: u.user,
      pass: u.password,
      tls: { ca },
    });
    try {
      expect(nc.info?.cluster).toBe("marina-lab");
      // JetStream answers: a meta leader was elected over the TLS routes.
      const r = await nc.request("$JS.API.INFO", "", { timeout: 5_000 });
      expect(JSON.parse(r.string())).not.toHaveProperty("error");
    } finally {
      await nc.close();
    }
  });
});
