import { describe, expect, it } from "vitest";
import { admit } from "../src/request.js";
import { resolveClusters } from "../src/targets.js";
import { CONFIG, ENV, execPayload, request } from "./fixtures.js";

const clusters = resolveClusters(CONFIG, ENV);

describe("admit", () => {
  it("admits a well-formed request and resolves the server", () => {
    const a = admit(request(execPayload()), "main", clusters);
    expect(a.ok).toBe(true);
    if (a.ok) {
      expect(a.server).toEqual({ name: "db2", host: "127.0.0.1", port: 3312 });
      expect(a.cluster.replication.password).toBe("repl-secret");
    }
  });

  it.each([
    [{ epoch: -1 }, "payload.epoch"],
    [{ epoch: "3" }, "payload.epoch"],
    [{ step: { kind: "drop-database" } }, "payload.step.kind"],
    [{ step: { kind: "stop-replication", connection: "a'b" } }, "payload.step.connection"],
    [{ step: { kind: "wait-gtid", pos: "0-1-x", timeoutMs: 10 } }, "payload.step.pos"],
    [{ step: { kind: "wait-gtid", pos: "0-1-1" } }, "payload.step.timeoutMs"],
    [{ step: { kind: "inspect", extra: 1 } }, "payload.step.extra"],
    [{ server: "db.2" }, "payload.server"],
  ])("refuses %j with VALIDATION_FAILED at %s", (over, path) => {
    const a = admit(request(execPayload(over)), "main", clusters);
    expect(a.ok).toBe(false);
    if (!a.ok) {
      expect(a.error.code).toBe("VALIDATION_FAILED");
      expect(a.error.path).toBe(path);
      expect(a.error.message).toContain(path);
      expect(a.stepId).toBe("s1");
    }
  });

  it("refuses a missing field, naming it", () => {
    const p = execPayload();
    delete p.opId;
    const a = admit(request(p), "main", clusters);
    expect(a.ok ? undefined : a.error.path).toBe("payload.opId");
  });

  it("refuses a bare payload (not an envelope) and non-JSON", () => {
    const bare = admit(JSON.stringify(execPayload()), "main", clusters);
    expect(bare.ok ? undefined : bare.error.code).toBe("VALIDATION_FAILED");
    const junk = admit("{nope", "main", clusters);
    expect(junk.ok ? undefined : junk.error.code).toBe("BAD_JSON");
    if (!junk.ok) expect(junk.stepId).toBe("unknown");
  });

  it("refuses unknown clusters and servers", () => {
    const c = admit(request(execPayload({ cluster: "nope" })), "main", clusters);
    expect(c.ok ? undefined : [c.error.code, c.error.path]).toEqual([
      "UNKNOWN_CLUSTER",
      "payload.cluster",
    ]);
    const s = admit(request(execPayload({ server: "db9" })), "main", clusters);
    expect(s.ok ? undefined : [s.error.code, s.error.path]).toEqual([
      "UNKNOWN_SERVER",
      "payload.server",
    ]);
  });

  it("refuses a request for another configured cluster than the subject's", () => {
    const a = admit(request(execPayload({ cluster: "other", server: "x1" })), "main", clusters);
    expect(a.ok ? undefined : [a.error.code, a.error.path]).toEqual([
      "VALIDATION_FAILED",
      "payload.cluster",
    ]);
  });

  it("checks change-master's source", () => {
    const step = (source: string) => ({ step: { kind: "change-master", connection: "", source } });
    const unknown = admit(request(execPayload(step("db7"))), "main", clusters);
    expect(unknown.ok ? undefined : [unknown.error.code, unknown.error.path]).toEqual([
      "UNKNOWN_SERVER",
      "payload.step.source",
    ]);
    const self = admit(request(execPayload(step("db2"))), "main", clusters);
    expect(self.ok ? undefined : self.error.path).toBe("payload.step.source");
    const ok = admit(request(execPayload(step("db1"))), "main", clusters);
    expect(ok.ok && ok.source?.port).toBe(3311);
  });
});
