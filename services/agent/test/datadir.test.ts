import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyDatadir, guardDatadir } from "../src/index.js";

let base: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "agent-guard-"));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function fakeDatadir(name = "data"): Promise<string> {
  const d = join(base, name);
  await mkdir(join(d, "mysql"), { recursive: true });
  await writeFile(join(d, "ibdata1"), "x");
  await writeFile(join(d, "mysql", "user.MAD"), "x");
  return d;
}

describe("datadir guard", () => {
  it("empties a datadir's contents and keeps the directory", async () => {
    const d = await fakeDatadir();
    expect(await emptyDatadir(d)).toBe(2);
    expect(existsSync(d)).toBe(true);
    expect(await readdir(d)).toEqual([]);
  });

  it("accepts an empty directory", async () => {
    const d = join(base, "empty");
    await mkdir(d);
    expect(await emptyDatadir(d)).toBe(0);
  });

  it("removes a symlink that points outside, never its target", async () => {
    const d = await fakeDatadir();
    const outside = join(base, "precious");
    await mkdir(outside);
    await writeFile(join(outside, "keep.txt"), "keep");
    await symlink(outside, join(d, "link-to-outside"));
    await symlink(join(outside, "keep.txt"), join(d, "mysql", "file-link"));
    await emptyDatadir(d);
    expect(await readdir(d)).toEqual([]);
    expect(await readFile(join(outside, "keep.txt"), "utf8")).toBe("keep");
  });

  it("refuses a directory that is not a datadir, and removes nothing", async () => {
    const d = join(base, "home");
    await mkdir(d);
    await writeFile(join(d, "notes.txt"), "mine");
    await expect(emptyDatadir(d)).rejects.toMatchObject({ code: "REFUSED" });
    expect(await readdir(d)).toEqual(["notes.txt"]);
  });

  it("refuses a datadir that is a symlink", async () => {
    const real = await fakeDatadir("real");
    const link = join(base, "link");
    await symlink(real, link);
    await expect(emptyDatadir(link)).rejects.toMatchObject({
      code: "REFUSED",
      message: expect.stringMatching(/symbolic link/),
    });
    expect(await readdir(real)).toContain("ibdata1");
  });

  it("refuses a datadir reached through a symlinked parent", async () => {
    await fakeDatadir("real");
    await symlink(base, join(base, "parent-link"));
    const via = join(base, "parent-link", "real");
    await expect(emptyDatadir(via)).rejects.toMatchObject({
      code: "REFUSED",
      message: expect.stringMatching(/resolves to/),
    });
  });

  it.each(["/", "/etc", "/var/lib", "relative/dir"])("refuses %s", async (p) => {
    await expect(guardDatadir(p)).rejects.toMatchObject({ code: "REFUSED" });
  });

  it("refuses a traversal path even when it resolves to a datadir", async () => {
    const d = await fakeDatadir();
    await expect(guardDatadir(`${d}/mysql/..`)).rejects.toMatchObject({ code: "REFUSED" });
    await expect(guardDatadir(`${base}/x/../data`)).rejects.toMatchObject({ code: "REFUSED" });
    expect(await readdir(d)).toContain("ibdata1");
  });

  it("refuses a file where the datadir should be", async () => {
    const f = join(base, "file");
    await writeFile(f, "x");
    await expect(guardDatadir(f)).rejects.toMatchObject({ code: "REFUSED" });
  });
});
