// Hooks that can veto, end to end on the lab: a preFailover hook that exits 1 blocks the
// automatic failover after kill -9 of the primary (FailoverBlocked with the hook's output,
// nothing promoted) until it exits 0 (the test flips the file it reads); the postFailover
// hook then receives the new primary in its environment; and a responder on the NATS veto
// subject, under the veto-responder identity, blocks the next failover the same way.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  envelope,
  HISTORY_STREAM,
  HistoryMessage,
  inboxPrefix,
  subjects,
  VetoRequestMessage,
} from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import { isEvent, isOperation, newPrimary, status, waitPrimary } from "./scenario-helpers.js";

const PRE = `#!/bin/sh
echo "pre-failover check: $MARINA_OLD_PRIMARY -> $MARINA_NEW_PRIMARY ($MARINA_TRIGGER)"
if [ -f "$HOOK_DIR/allow" ]; then exit 0; fi
echo "change freeze in force" >&2
exit 1
`;
const POST = `#!/bin/sh
# Written aside and renamed: the test reads a file only once it is whole.
env > "$HOOK_DIR/post-all.env.tmp" && mv "$HOOK_DIR/post-all.env.tmp" "$HOOK_DIR/post-all.env"
env | grep '^MARINA_' > "$HOOK_DIR/post.tmp" && mv "$HOOK_DIR/post.tmp" "$HOOK_DIR/post-$MARINA_OPERATION_ID.env"
`;

function readEnvFile(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

describe("failover hooks that can veto", () => {
  let stack: Stack;
  let obs: Observer;
  let dir: string;
  let responderNc: NatsConnection | undefined;
  let agreeNc: NatsConnection | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "marina-hooks-"));
    writeFileSync(join(dir, "pre.sh"), PRE);
    writeFileSync(join(dir, "post.sh"), POST);
    chmodSync(join(dir, "pre.sh"), 0o755);
    chmodSync(join(dir, "post.sh"), 0o755);
    const env = { HOOK_DIR: dir };
    stack = await startStack({
      lab: { nodes: 3 },
      config: {
        // One failover after another in this test; the veto's hold is what spaces them.
        failover: { cooldownMs: 0 },
        hooks: {
          preFailover: { argv: [join(dir, "pre.sh")], timeoutMs: 5_000, env },
          postFailover: { argv: [join(dir, "post.sh")], timeoutMs: 5_000, env },
          veto: { enabled: true, timeoutMs: 500 },
          vetoHoldMs: 2_000,
        },
      },
    });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await responderNc?.close();
    await agreeNc?.close();
    await stack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a preFailover hook exiting 1 blocks the automatic failover until it exits 0; the post hook gets the new primary", async () => {
    const { lab, nc } = stack;
    await waitPrimary(nc, "db1");

    await lab.node("db1").kill9();
    const blocked = await obs.waitFor(
      isEvent("FailoverBlocked", "db1", (e) => e.details.code === "veto"),
      30_000,
      "FailoverBlocked (veto) for db1",
    );
    expect(blocked.event.reason).toMatch(/hook preFailover exited 1/);
    expect(blocked.event.reason).toMatch(/change freeze in force/);
    expect(blocked.event.details.hook).toBe("preFailover");
    expect(blocked.event.details.exitCode).toBe(1);
    expect(String(blocked.event.details.stderr)).toContain("change freeze in force");
    expect(String(blocked.event.details.stdout)).toMatch(
      /pre-failover check: db1 -> db[23] \(automatic\)/,
    );
    const vetoed = await obs.waitFor(
      isOperation((o) => o.kind === "failover" && o.state === "failed"),
      10_000,
      "the vetoed failover's end",
    );
    expect(vetoed.operation.error?.code).toBe("VETOED");
    // Nothing promoted: db1 is still the (dead) primary, no writer, nothing running.
    const st = await status(nc);
    expect(st.primary).toBe("db1");
    expect(obs.topologies().some((t) => t.primary !== "db1")).toBe(false);
    for (const n of ["db2", "db3"]) {
      const [ro] = await lab.node(n).query<Array<{ r: number }>>("SELECT @@read_only AS r");
      expect(Number(ro?.r)).toBe(1);
    }
    // The hold ends and the hook is asked again: still no.
    await obs.waitFor(
      isOperation(
        (o) => o.kind === "failover" && o.state === "failed" && o.opId !== vetoed.operation.opId,
      ),
      15_000,
      "a second vetoed attempt after the hold",
    );
    expect(obs.topologies().some((t) => t.primary !== "db1")).toBe(false);

    writeFileSync(join(dir, "allow"), "");
    const promoted = await obs.waitFor(
      newPrimary("db1"),
      30_000,
      "failover once the hook allows it",
    );
    const newOne = promoted.topology.primary!;
    const done = await obs.waitFor(
      isOperation((o) => o.kind === "failover" && o.state === "succeeded"),
      30_000,
      "failover succeeded",
    );
    // The post hook runs detached: the failover's end is published first.
    expect(done.operation.message).toMatch(/hook postFailover runs next/);
    const file = join(dir, `post-${done.operation.opId}.env`);
    await waitFor(async () => (existsSync(file) ? true : undefined), {
      timeoutMs: 10_000,
      message: "the post hook's file",
    });
    const env = readEnvFile(file);
    expect(env.MARINA_NEW_PRIMARY).toBe(newOne);
    expect(env.MARINA_OLD_PRIMARY).toBe("db1");
    expect(env.MARINA_RESULT).toBe("succeeded");
    expect(env.MARINA_CLUSTER).toBe("main");
    expect(env.MARINA_KIND).toBe("failover");
    expect(env.MARINA_TRIGGER).toBe("automatic");
    // Nothing of the executor's own environment (its secrets) reaches a hook.
    const all = readEnvFile(join(dir, "post-all.env"));
    for (const k of Object.keys(all))
      expect(k).toMatch(/^(MARINA_|HOOK_DIR$|PATH$|PWD$|SHLVL$|_$)/);

    // The operations' records show the hooks: the veto, and the post hook with its output.
    const jsm = await jetstreamManager(nc);
    const record = async (opId: string) => {
      const m = await jsm.streams.getMessage(HISTORY_STREAM, {
        last_by_subj: subjects.history("main", opId),
      });
      return HistoryMessage.parse(m?.json()).payload;
    };
    const refused = await record(vetoed.operation.opId);
    expect(refused.outcome).toBe("failed");
    expect(refused.hooks?.find((h) => h.hook === "preFailover")).toMatchObject({
      vetoed: true,
      exitCode: 1,
    });
    expect(refused.hooks?.find((h) => h.hook === "veto")).toMatchObject({
      vetoed: false,
      stdout: "no reply",
    });
    // Stored again once the post hook answered, with it.
    const succeeded = await waitFor(
      async () => {
        const r = await record(done.operation.opId);
        return r.hooks?.some((h) => h.phase === "post-hook") ? r : undefined;
      },
      { timeoutMs: 10_000, message: "the record with the post hook" },
    );
    expect(succeeded.message).toMatch(/hook postFailover exited 0/);
    expect(succeeded.hooks?.map((h) => `${h.phase}:${h.hook}:${h.status}`)).toEqual([
      "pre-hook:preFailover:ok",
      "pre-hook:veto:ok",
      "post-hook:postFailover:ok",
    ]);
  });

  /** A connection as the `veto-responder` NATS identity (its lab user, its inbox prefix). */
  async function asVetoResponder(name: string): Promise<NatsConnection> {
    const u = stack.lab.natsUsers?.["veto-responder"];
    if (!u) throw new Error("the lab runs without NATS users: nothing would be proven");
    return connect({
      servers: [...stack.config.nats.servers],
      name,
      user: u.user,
      pass: u.password,
      inboxPrefix: inboxPrefix("veto-responder"),
    });
  }

  it("a responder on the NATS veto subject (veto-responder identity) blocks the next failover", async () => {
    const { lab, nc } = stack;
    const primary = String((await status(nc)).primary);
    const asked: string[] = [];
    responderNc = await asVetoResponder("veto-responder");
    const sub: Subscription = responderNc.subscribe(subjects.veto("main", "failover"), {
      callback: (err, msg) => {
        if (err) return;
        const req = VetoRequestMessage.parse(JSON.parse(new TextDecoder().decode(msg.data)));
        asked.push(`${req.payload.oldPrimary}->${req.payload.newPrimary}`);
        msg.respond(
          JSON.stringify(
            envelope("veto-reply", "test:freeze-bot", {
              veto: true,
              reason: "release in progress",
              responder: "freeze-bot",
            }),
          ),
        );
      },
    });
    // A second responder (a system of its own: NATS lets an identity answer each request
    // once per connection) that agrees: one veto is enough.
    agreeNc = await asVetoResponder("veto-agree");
    const agree = agreeNc.subscribe(subjects.veto("main", "failover"), {
      callback: (_e, msg) => {
        msg.respond(JSON.stringify({ veto: false, responder: "ok-bot" }));
      },
    });
    await responderNc.flush();
    await agreeNc.flush();

    await lab.node(primary).kill9();
    const blocked = await obs.waitFor(
      isEvent(
        "FailoverBlocked",
        primary,
        (e) => e.details.code === "veto" && e.details.vetoReason !== undefined,
      ),
      30_000,
      `FailoverBlocked (veto) for ${primary}`,
    );
    expect(blocked.event.reason).toMatch(/freeze-bot: release in progress/);
    expect(blocked.event.details.vetoReason).toMatch(/release in progress/);
    expect(asked.length).toBeGreaterThanOrEqual(1);
    expect(asked[0]).toMatch(new RegExp(`^${primary}->db[123]$`));
    expect((await status(nc)).primary).toBe(primary);

    // The responder lifts its veto: the next attempt after the hold goes through.
    sub.unsubscribe();
    agree.unsubscribe();
    const promoted = await obs.waitFor(
      newPrimary("db1", primary),
      30_000,
      "failover after the veto",
    );
    expect(promoted.topology.primary).not.toBe(primary);
  });
});
