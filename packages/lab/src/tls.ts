// The lab's certificates, made with openssl (no shell: argv only): a CA, one server
// certificate for every mariadbd and nats-server of the lab (its SANs list every address
// they listen on, so clients verify the name), and one client certificate. Keys are EC
// P-256 (fast to make); everything lives in `<lab>/tls`, files readable by the owner only.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { resolveBinary } from "./binaries.js";
import { runCommand } from "./netns-command.js";

export interface LabTls {
  readonly dir: string;
  /** PEM file of the CA that signed both certificates. */
  readonly caFile: string;
  /**
   * The same CA at another path, as on database hosts where it lives elsewhere than on
   * Marina's: what Marina's config names for replication (MASTER_SSL_CA), while the lab
   * wires its initial replication with `caFile` — so a test sees who set up a link.
   */
  readonly hostsCaFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** The CA's PEM text (for clients that take contents rather than a path). */
  readonly caPem: string;
}

const DAYS = "30";

async function openssl(args: string[]): Promise<void> {
  await runCommand([resolveBinary("openssl"), ...args]);
}

/** A key and a certificate signed by the CA, for `cn` with `sans` (subjectAltName entries). */
async function issue(
  dir: string,
  name: string,
  cn: string,
  sans: readonly string[],
  usage: "serverAuth,clientAuth" | "clientAuth",
  ca: { cert: string; key: string },
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  await openssl(["req", "-new", "-key", key, "-subj", `/CN=${cn}`, "-out", csr]);
  await writeFile(
    ext,
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      `extendedKeyUsage=${usage}`,
      ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
      "",
    ].join("\n"),
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    DAYS,
    "-sha256",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  await chmod(key, 0o600);
  return { cert, key };
}

/**
 * Makes the lab's CA and certificates under `dir`. `addresses`: every IP the servers
 * listen on (127.0.0.1 is always added); `localhost` is a DNS name of the server cert.
 */
export async function makeLabTls(dir: string, addresses: readonly string[]): Promise<LabTls> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caKey = join(dir, "ca.key");
  const caCert = join(dir, "ca.pem");
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", caKey]);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    caKey,
    "-subj",
    "/CN=marina-lab-ca",
    "-days",
    DAYS,
    "-sha256",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    caCert,
  ]);
  await chmod(caKey, 0o600);
  const ca = { cert: caCert, key: caKey };
  const ips = [...new Set(["127.0.0.1", ...addresses])];
  const server = await issue(
    dir,
    "server",
    "marina-lab-server",
    ["DNS:localhost", ...ips.map((a) => `IP:${a}`)],
    // Both: a nats-server's route dials its peers with it, too.
    "serverAuth,clientAuth",
    ca,
  );
  const client = await issue(dir, "client", "marina-lab-client", [], "clientAuth", ca);
  const caPem = await readFile(caCert, "utf8");
  const hostsCaFile = join(dir, "ca-on-hosts.pem");
  await writeFile(hostsCaFile, caPem);
  return {
    dir,
    caFile: caCert,
    hostsCaFile,
    serverCertFile: server.cert,
    serverKeyFile: server.key,
    clientCertFile: client.cert,
    clientKeyFile: client.key,
    caPem,
  };
}

/**
 * Another client certificate signed by the lab's CA (`<dir>/<name>.pem`, `.key`), for
 * `cn`: to tell a listed certificate from one the same CA signed for someone else.
 */
export async function issueLabClientCertificate(
  tls: LabTls,
  name: string,
  cn: string,
): Promise<{ cert: string; key: string }> {
  return issue(tls.dir, name, cn, [], "clientAuth", {
    cert: tls.caFile,
    key: join(tls.dir, "ca.key"),
  });
}
