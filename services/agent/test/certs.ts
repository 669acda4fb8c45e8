import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface TestCerts {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

const openssl = (args: string[]) => execFileSync("/usr/bin/openssl", args, { stdio: "pipe" });

/**
 * A throwaway CA and one certificate for 127.0.0.1 (subjectAltName: socat checks the
 * peer's name), used by both ends of a TLS stream, which verify each other against the CA.
 */
export async function makeTestCerts(dir: string): Promise<TestCerts> {
  await mkdir(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=marina-test-ca",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
  ]);
  openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    p("agent.key"),
    "-out",
    p("agent.csr"),
  ]);
  await writeFile(
    p("ext.cnf"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  openssl([
    "x509",
    "-req",
    "-in",
    p("agent.csr"),
    "-CA",
    p("ca.pem"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    p("ext.cnf"),
    "-out",
    p("agent.pem"),
  ]);
  return { cert: p("agent.pem"), key: p("agent.key"), ca: p("ca.pem") };
}
