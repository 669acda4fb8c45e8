// A command's reply subject is the requester's choice, and a decider may write Marina's
// buckets: an operator asking for `cmd.status` with its reply set to the epoch counter or
// the state must not get the decider to overwrite them. Deciders answer inboxes only.
import { LEASE_BUCKET, STATE_BUCKET, subjects } from "@marina/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectAs } from "../src/lab-config.js";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import { command } from "./scenario-helpers.js";

describe("reply subjects", () => {
  let stack: Stack;
  let obs: Observer;
  beforeAll(async () => {
    stack = await startStack({ lab: { nodes: 2 } });
    obs = observe(stack.nc, "main");
  });
  afterAll(async () => {
    obs?.close();
    await stack?.close();
  });

  it("a decider never answers onto a bucket, however the command is worded", async () => {
    await obs.waitFor((o) => o.kind === "topology" && o.topology.primary === "db1", 30_000, "db1");
    // The last message of a key, read through the JetStream API (seq and payload).
    const last = async (bucket: string, key: string) => {
      const r = await stack.nc.request(
        `$JS.API.STREAM.MSG.GET.KV_${bucket}`,
        JSON.stringify({ last_by_subj: `$KV.${bucket}.${key}` }),
        { timeout: 5_000 },
      );
      const m = (JSON.parse(r.string()) as { message?: { seq: number; data?: string } }).message;
      return m ? { seq: m.seq, text: Buffer.from(m.data ?? "", "base64").toString() } : undefined;
    };
    const snapshot = async () => ({
      epoch: (await last(STATE_BUCKET, "main.epoch"))?.seq,
      // holder and epoch: renewedAt moves at every renewal.
      lease: (({ holder, epoch }) => ({ holder, epoch }))(
        JSON.parse((await last(LEASE_BUCKET, "main"))?.text ?? "{}") as Record<string, unknown>,
      ),
    });
    const operator = await connectAs(stack.config, "operator", "forger");
    try {
      const before = await snapshot();
      for (const reply of ["$KV.marina_state.main.epoch", "$KV.marina_state.main.decider"]) {
        for (const body of ["{}", "{not json"]) {
          operator.publish(subjects.cmd("main", "status"), body, { reply });
        }
      }
      await operator.flush();
      // A real command still gets its answer (the decider is alive and answering).
      expect((await command(operator, "status", "{}")).ok).toBe(true);
      const after = await snapshot();
      expect(after.epoch).toBe(before.epoch);
      expect(after.lease).toEqual(before.lease);
      expect(before.lease.epoch).toBeGreaterThan(0);
      // The state may be rewritten by the decider itself, but never as a command reply.
      const text = (await last(STATE_BUCKET, "main.decider"))?.text ?? "";
      expect(text).not.toContain("command-reply");
    } finally {
      await operator.close();
    }
  });
});
