import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  compressor,
  connectStream,
  DEFAULT_TOOL_PATHS,
  decompressor,
  type Invocation,
  listenStream,
  SOCAT_CONNECTED,
  SOCAT_LISTENING,
} from "@marina/hostops";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pipeline } from "../src/proc/pipeline.js";

// The shell-less pipe runner with real programs of the allow-list (no database needed).

let dir: string;
const paths = DEFAULT_TOOL_PATHS;
const socat = (...args: string[]): Invocation => ({ program: "socat", args, privileged: false });

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "agent-pipeline-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("pipeline", () => {
  it("moves bytes through socat | zstd | socat on both sides, unchanged", async () => {
    const src = join(dir, "src.bin");
    const out = join(dir, "out.bin");
    const data = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(3 << 20, 7)]);
    await writeFile(src, data);
    const port = await freePort();
    const c = { kind: "zstd", level: 3 } as const;
    const recv = await Pipeline.start(
      [
        listenStream({ port, bind: "127.0.0.1" }),
        decompressor(c)!,
        socat("-u", "-", `CREATE:${out}`),
      ].map((inv) => ({ inv })),
      { paths, gate: { stage: 0, pattern: SOCAT_LISTENING, timeoutMs: 10_000, what: "listen" } },
    );
    const send = await Pipeline.start(
      [
        socat("-u", `OPEN:${src}`, "-"),
        compressor(c)!,
        connectStream({ address: "127.0.0.1", port, connectTimeoutS: 5 }),
      ].map((inv) => ({ inv })),
      {
        paths,
        gate: {
          stage: 2,
          pattern: SOCAT_CONNECTED,
          timeoutMs: 10_000,
          what: "connect",
        },
      },
    );
    const [s, r] = await Promise.all([send.done, recv.done]);
    expect(s.ok, s.failure).toBe(true);
    expect(r.ok, r.failure).toBe(true);
    expect((await readFile(out)).equals(data)).toBe(true);
  });

  it("fails at the gate, before upstream starts, when the sink cannot connect", async () => {
    const port = await freePort(); // nobody listens
    const src = join(dir, "never-read.bin");
    await writeFile(src, "x");
    await expect(
      Pipeline.start(
        [
          socat("-u", `OPEN:${src}`, "-"),
          connectStream({ address: "127.0.0.1", port, connectTimeoutS: 2 }),
        ].map((inv) => ({ inv })),
        {
          paths,
          gate: {
            stage: 1,
            pattern: SOCAT_CONNECTED,
            timeoutMs: 10_000,
            what: "connect",
          },
        },
      ),
    ).rejects.toMatchObject({
      code: "TOOL_FAILED",
      message: expect.stringMatching(/socat failed.*Connection refused/),
    });
  });

  it("names the stage that failed for its own reason, not the writer it broke", async () => {
    const src = join(dir, "not-zstd.bin");
    await writeFile(src, randomBytes(4 << 20));
    const p = await Pipeline.start(
      [
        socat("-u", `OPEN:${src}`, "-"),
        decompressor({ kind: "zstd", level: 1 })!,
        socat("-u", "-", `CREATE:${join(dir, "x")}`),
      ].map((inv) => ({ inv })),
      { paths },
    );
    const r = await p.done;
    expect(r.ok).toBe(false);
    expect(r.failure).toMatch(/^zstd failed/);
  });

  it("kill stops every stage", async () => {
    const port = await freePort();
    const p = await Pipeline.start(
      [listenStream({ port, bind: "127.0.0.1" }), socat("-u", "-", `CREATE:${join(dir, "y")}`)].map(
        (inv) => ({ inv }),
      ),
      { paths, gate: { stage: 0, pattern: SOCAT_LISTENING, timeoutMs: 10_000, what: "listen" } },
    );
    expect(p.running()).toBe(true);
    await p.kill();
    expect(p.running()).toBe(false);
    expect((await p.done).ok).toBe(false);
  });
});
