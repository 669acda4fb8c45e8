// The failover e2e with TLS everywhere: the lab's CA (openssl) signs every mariadbd's and
// nats-server's certificate; Marina's accounts REQUIRE SSL and NATS requires TLS of every
// client, so a service that forgot TLS could not work at all. After kill -9 of the primary
// the new topology is published, nothing acknowledged is lost, and the replica Marina
// repointed replicates over TLS with the source's certificate verified.
import { findMissingIds, readNatsInfo, startWriter, waitFor } from "@marina/lab";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";

type Row = Record<string, unknown>;

describe("failover with TLS to MariaDB and NATS", () => {
  let stack: Stack;
  let obs: Observer;

  beforeAll(async () => {
    stack = await startStack({ lab: { semiSync: true, nodes: 3, tls: true } });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("refuses clients without TLS on both", async () => {
    const { lab } = stack;
    const nats = lab.nats!;
    expect((await readNatsInfo(nats.host, nats.port, 2_000)).tls_required).toBe(true);
    // A client that does not trust the lab's CA cannot connect.
    await expect(connect({ servers: nats.url, timeout: 2_000 })).rejects.toThrow(/certificate/i);
    const [account] = (await lab
      .node("db1")
      .query("SELECT ssl_type FROM mysql.user WHERE User = ? AND Host = '%'", [
        lab.credentials.marina.user,
      ])) as Row[];
    expect(account?.ssl_type).toBe("ANY");
  });

  it("promotes a replica over TLS, loses nothing acknowledged, repoints with the CA checked", async () => {
    const { lab } = stack;
    await obs.waitFor((o) => o.kind === "topology" && o.topology.primary === "db1", 30_000, "db1");
    let writeTo = lab.node("db1");
    const writer = await startWriter(() => writeTo, { intervalMs: 5 });
    await writer.waitForAcks(30);
    await lab.node("db1").kill9();
    const promoted = await obs.waitFor(
      (o) => o.kind === "topology" && o.topology.primary !== null && o.topology.primary !== "db1",
      30_000,
      "a new primary",
    );
    const name = promoted.kind === "topology" ? promoted.topology.primary! : "";
    const primary = lab.node(name);
    const other = lab.node(name === "db2" ? "db3" : "db2");
    writeTo = primary;
    const before = writer.acked.length;
    await waitFor(() => writer.acked.length >= before + 20, 20_000);
    await writer.stop();
    expect(await findMissingIds(primary, writer.acked)).toEqual([]);

    await waitFor(
      async () => {
        const [r] = (await other.query("SHOW ALL SLAVES STATUS")) as Row[];
        return r?.Master_Port === primary.port && r?.Slave_IO_Running === "Yes";
      },
      { timeoutMs: 30_000, message: `${other.name} replicating from ${name}` },
    );
    const [link] = (await other.query("SHOW ALL SLAVES STATUS")) as Row[];
    expect(link).toMatchObject({
      Master_SSL_Allowed: "Yes",
      Master_SSL_Verify_Server_Cert: "Yes",
      // The config's path, not the lab's initial one: Marina set this link up.
      Master_SSL_CA_File: lab.tls!.hostsCaFile,
    });
  });
});
