import {
  backupStream,
  connectStream,
  DEFAULT_TOOL_PATHS,
  extractStream,
  listenStream,
  loadStream,
  makePrivateDir,
  writeMarkerFile,
} from "@marina/hostops";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { parseAgentConfig, remotePipelineScript } from "../src/index.js";
import { sshPrivateKey } from "../src/start.js";
import { configErrorOf } from "./config-errors.js";

// A server served over SSH: config validation, the private key's resolution, and the
// remote command lines the SSH backend renders (every word quoted, sudo only where needed,
// the password never on a command line).

const FP = `SHA256:${"a".repeat(43)}`;
const withSsh = (ssh: string, extra = "") => `
host: ops-host
advertiseAddress: 10.0.0.1
backup: { user: marina_backup, password: { env: MARINA_BACKUP_PASSWORD } }
servers:
  - name: db1
    cluster: main
    datadir: /var/lib/mysql
    ssh: ${ssh}
${extra}`;

describe("agent config: servers over ssh", () => {
  it("fills the defaults (port 22, sudo, advertise = host, fixed scratch dir)", () => {
    const c = parseAgentConfig(
      withSsh(
        `{ host: 10.0.0.12, user: marina, privateKeyFile: /etc/marina/id_ed25519, hostKeySha256: "${FP}" }`,
      ),
    );
    expect(c.servers[0]!.ssh).toEqual({
      host: "10.0.0.12",
      port: 22,
      user: "marina",
      privateKeyFile: "/etc/marina/id_ed25519",
      hostKeySha256: FP,
      sudo: true,
      tmpDir: "/var/tmp/marina-backup",
    });
  });

  it.each([
    [
      "no key",
      `{ host: h1, user: marina, hostKeySha256: "${FP}" }`,
      /exactly one of privateKeyFile/,
    ],
    [
      "both keys",
      `{ host: h1, user: marina, privateKeyFile: /k, privateKey: { env: K }, hostKeySha256: "${FP}" }`,
      /exactly one of privateKeyFile/,
    ],
    ["no fingerprint", "{ host: h1, user: marina, privateKeyFile: /k }", /hostKeySha256/],
    [
      "an MD5 fingerprint",
      `{ host: h1, user: marina, privateKeyFile: /k, hostKeySha256: "MD5:aa:bb" }`,
      /SHA256:<43 base64 characters>/,
    ],
    [
      "a shell word as user",
      `{ host: h1, user: "m;id", privateKeyFile: /k, hostKeySha256: "${FP}" }`,
      /user/,
    ],
    [
      "a relative key file",
      `{ host: h1, user: marina, privateKeyFile: id_rsa, hostKeySha256: "${FP}" }`,
      /privateKeyFile/,
    ],
    [
      "a host with socat syntax",
      `{ host: "h1,fork", user: marina, privateKeyFile: /k, hostKeySha256: "${FP}" }`,
      /host/,
    ],
  ])("refuses %s", (_what, ssh, want) => {
    expect(configErrorOf(withSsh(ssh))).toMatch(want);
  });

  it("refuses the process service kind over ssh (not yet)", () => {
    const text = withSsh(
      `{ host: h1, user: marina, privateKeyFile: /k, hostKeySha256: "${FP}" }\n    service: { kind: process, start: [/usr/sbin/mariadbd], pidFile: /run/m.pid }`,
    );
    expect(configErrorOf(text)).toMatch(/servers\.0\.service\.kind: .*process: not yet/);
  });

  it("lets servers on different hosts share a datadir path", () => {
    const ssh = (h: string) =>
      `{ host: ${h}, user: marina, privateKeyFile: /k, hostKeySha256: "${FP}" }`;
    const text = `${withSsh(ssh("h1"))}
  - name: db2
    cluster: main
    datadir: /var/lib/mysql
    ssh: ${ssh("h2")}
  - name: db3
    cluster: main
    datadir: /var/lib/mysql
`;
    expect(parseAgentConfig(text).servers.map((s) => s.name)).toEqual(["db1", "db2", "db3"]);
    const same = `${withSsh(ssh("h1"))}
  - name: db2
    cluster: main
    datadir: /var/lib/mysql
    ssh: ${ssh("h1")}
`;
    expect(configErrorOf(same)).toMatch(/also the datadir of "db1"/);
  });

  it("resolves the private key from the environment and never logs it", () => {
    const c = parseAgentConfig(
      withSsh(`{ host: h1, user: marina, privateKey: { env: KEY }, hostKeySha256: "${FP}" }`),
    );
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n";
    expect(sshPrivateKey(c.servers[0]!, { KEY: key })).toBe(key);
    const lines: string[] = [];
    const log = pino(
      { redact: ["*.password", "password", "*.MYSQL_PWD", "*.privateKey"] },
      { write: (l: string) => lines.push(l) },
    );
    log.info({ ssh: { ...c.servers[0]!.ssh, privateKey: key } }, "server");
    expect(lines.join("")).not.toContain("secret");
  });
});

describe("the ssh backend's command lines", () => {
  const render = { paths: DEFAULT_TOOL_PATHS, sudo: true };
  const client = {
    defaultsFile: "/etc/mysql/my.cnf",
    socket: "/run/mysqld/mysqld.sock",
    user: "marina_backup",
  };

  it("renders a donor pipeline with the password read from stdin, never in argv", () => {
    const { script, password } = remotePipelineScript(
      [
        {
          inv: backupStream({ ...client, tmpDir: "/var/tmp/marina-backup" }),
          env: { MYSQL_PWD: "s3cr'et" },
        },
        { inv: connectStream({ address: "10.0.0.11", port: 4444, connectTimeoutS: 120 }) },
      ],
      render,
    );
    expect(password).toBe("s3cr'et");
    expect(script).not.toContain("s3cr");
    expect(script).toBe(
      "set -o pipefail; IFS= read -r MYSQL_PWD && export MYSQL_PWD && " +
        "/usr/bin/sudo -n /usr/bin/mariadb-backup --defaults-file=/etc/mysql/my.cnf --backup " +
        "--stream=xbstream --slave-info --safe-slave-backup --target-dir=/var/tmp/marina-backup " +
        "--user=marina_backup --socket=/run/mysqld/mysqld.sock | " +
        "/usr/bin/socat -d -d -u - TCP:10.0.0.11:4444,connect-timeout=120",
    );
  });

  it("renders a logical load as the ssh user, quoting the init command as one word", () => {
    const { script, password } = remotePipelineScript(
      [
        { inv: listenStream({ port: 4444, bind: "0.0.0.0" }) },
        { inv: loadStream(client), env: { MYSQL_PWD: "pw" } },
      ],
      render,
    );
    expect(password).toBe("pw");
    expect(script).toContain(
      "| /usr/bin/mariadb --defaults-file=/etc/mysql/my.cnf --user=marina_backup " +
        "--socket=/run/mysqld/mysqld.sock '--init-command=SET SESSION sql_log_bin=0' --batch --silent",
    );
    expect(script).not.toMatch(/sudo -n \/usr\/bin\/mariadb /);
  });

  it("renders a receiver without a password prologue, mbstream under sudo", () => {
    const { script, password } = remotePipelineScript(
      [
        { inv: listenStream({ port: 4444, bind: "10.0.0.12" }) },
        { inv: extractStream("/var/lib/mysql") },
      ],
      render,
    );
    expect(password).toBeUndefined();
    expect(script).toBe(
      "set -o pipefail; /usr/bin/socat -d -d -u TCP-LISTEN:4444,reuseaddr,bind=10.0.0.12 - | " +
        "/usr/bin/sudo -n /usr/bin/mbstream -x -C /var/lib/mysql",
    );
  });

  it("builds marker and save templates from config paths only", () => {
    expect(writeMarkerFile("/var/lib/mysql").args).toEqual(["/var/lib/mysql/.marina-rebuild.json"]);
    expect(() => makePrivateDir("/var/lib/../etc")).toThrow(/'\.\.'/);
    expect(() => writeMarkerFile("/")).toThrow();
  });
});
