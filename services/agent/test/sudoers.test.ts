import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_TOOL_PATHS,
  renderInvocation,
  resolveInvocation,
  sudoersAllows,
  sudoersCommands,
} from "@marina/hostops";
import { describe, expect, it } from "vitest";
import { parseAgentConfig } from "../src/config.js";
import { sshHostCommands } from "../src/host/ssh-commands.js";

const root = join(import.meta.dirname, "..", "..", "..");
const text = readFileSync(join(root, "deploy", "sudoers.marina"), "utf8");
const commands = sudoersCommands(text);

// The defaults deploy/sudoers.marina is written for: a Debian server served over SSH, as
// an agent config leaves it when only the required fields are given.
const config = parseAgentConfig(`
host: ops-host
advertiseAddress: 10.0.0.1
backup: { user: marina_backup }
servers:
  - name: db1
    cluster: main
    datadir: /var/lib/mysql
    ssh: { host: 10.0.0.12, user: marina, privateKeyFile: /k, hostKeySha256: "SHA256:${"a".repeat(43)}" }
`);
const server = config.servers[0]!;

describe("deploy/sudoers.marina", () => {
  const all = sshHostCommands(server, server.ssh!, config.backup.user);

  it("allows every privileged command of the agent's SSH templates, exactly", () => {
    const privileged = all.filter((i) => i.privileged);
    expect(privileged.length).toBeGreaterThanOrEqual(10);
    for (const inv of privileged) {
      const [file, args] = resolveInvocation(inv, DEFAULT_TOOL_PATHS);
      expect(sudoersAllows(commands, file, args), `${file} ${args.join(" ")}`).toBe(true);
    }
  });

  it("allows nothing the templates do not run, and uses no wildcard", () => {
    const emitted = new Set(
      all
        .filter((i) => i.privileged)
        .map((i) => resolveInvocation(i, DEFAULT_TOOL_PATHS).flat().join(" ")),
    );
    const listed = [...commands.values()].flat();
    expect(listed.filter((c) => !emitted.has(c))).toEqual([]);
    expect(listed.join("\n")).not.toMatch(/[*?[]/);
  });

  it("runs privileged commands under sudo -n with full paths, others without sudo", () => {
    const opts = { paths: DEFAULT_TOOL_PATHS, sudo: true };
    const find = all.find((i) => i.program === "find")!;
    expect(renderInvocation(find, opts)).toBe(
      "/usr/bin/sudo -n /usr/bin/find /var/lib/mysql -xdev -mindepth 1 -delete",
    );
    const realpath = all.find((i) => i.program === "realpath")!;
    expect(renderInvocation(realpath, opts)).toBe("/usr/bin/realpath -e /var/lib/mysql");
  });

  it("reads a rule with escapes and continuation lines", () => {
    const c = sudoersCommands("Cmnd_Alias X = /bin/a b\\=c\\:d, \\\n  /bin/e\n");
    expect(c.get("X")).toEqual(["/bin/a b=c:d", "/bin/e"]);
  });
});
