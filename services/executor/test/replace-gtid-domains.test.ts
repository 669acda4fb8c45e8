// replace-gtid-domains' control flow over scripted sessions: every SQL thread it stopped is
// started again whatever failed (a SET refused, a START that throws, a broken session), the
// original error kept, and the data says which connections run and which do not.
import type { ExecStep } from "@marina/contracts";
import { describe, expect, it } from "vitest";
import type { Session } from "../src/db.js";
import type { Row } from "../src/rows.js";
import type { StepContext } from "../src/steps/context.js";
import { socketTimeoutFor } from "../src/steps/index.js";
import { replaceGtidDomains } from "../src/steps/replace-gtid-domains.js";
import { resolveClusters } from "../src/targets.js";
import { ScriptedSession } from "./fake-session.js";
import { CONFIG, ENV, FakeClock, silentLog } from "./fixtures.js";

const cluster = resolveClusters(CONFIG, ENV).get("main")!;

const slave = (name: string, sql: "Yes" | "No"): Row => ({
  Connection_name: name,
  Master_Host: "127.0.0.1",
  Master_Port: 3311,
  Slave_IO_Running: "Yes",
  Slave_SQL_Running: sql,
  Last_IO_Errno: 0,
  Last_IO_Error: "",
  Last_SQL_Errno: 0,
  Last_SQL_Error: "",
  Gtid_IO_Pos: "1-1-1",
});

type Fail = (sql: string, session: "first" | "fresh") => Error | undefined;

/** Connections p1, p2 running, p9 with its SQL thread stopped; `fail` makes statements throw. */
function world(fail: Fail = () => undefined) {
  const fresh: ScriptedSession[] = [];
  const answer =
    (which: "first" | "fresh") =>
    (sql: string): Row[] => {
      const e = fail(sql, which);
      if (e) throw e;
      if (sql.startsWith("SHOW ALL SLAVES")) {
        return [slave("p1", "Yes"), slave("p2", "Yes"), slave("p9", "No")];
      }
      if (sql.includes("gtid_slave_pos")) return [{ gtid_slave_pos: "1-1-50,2-2-40" }];
      return [];
    };
  const db = new ScriptedSession(answer("first"));
  const ctx: StepContext = {
    db,
    openSession: async (): Promise<Session> => {
      const s = new ScriptedSession(answer("fresh"));
      fresh.push(s);
      return s;
    },
    cluster,
    server: cluster.servers.get("db2")!,
    source: undefined,
    clock: new FakeClock(),
    log: silentLog,
    opId: "op-1",
    executor: "e1",
  };
  const starts = () =>
    [db, ...fresh].flatMap((s) => s.statements.filter((x) => x.startsWith("START SLAVE")));
  return { ctx, db, fresh, starts };
}

const step: Extract<ExecStep, { kind: "replace-gtid-domains" }> = {
  kind: "replace-gtid-domains",
  domains: [3],
  pos: "3-5-100",
  timeoutMs: 600_000,
};

describe("replace-gtid-domains", () => {
  it("stops the running SQL threads, sets the position, starts exactly those again", async () => {
    const w = world();
    const r = await replaceGtidDomains(w.ctx, step);
    expect(r).toMatchObject({
      previous: "1-1-50,2-2-40",
      pos: "1-1-50,2-2-40,3-5-100",
      restarted: ["p1", "p2"],
      stillStopped: [],
    });
    expect(w.starts()).toEqual(["START SLAVE 'p1' SQL_THREAD", "START SLAVE 'p2' SQL_THREAD"]);
  });

  it("a SET refused: every stopped SQL thread started again, the SET's error reported", async () => {
    const w = world((sql) =>
      sql.startsWith("SET GLOBAL gtid_slave_pos") ? new Error("1198 boom") : undefined,
    );
    const err = await replaceGtidDomains(w.ctx, step).catch((e: unknown) => e);
    expect(err).toMatchObject({
      message: expect.stringMatching(
        /gtid_slave_pos not changed: 1198 boom; the SQL threads stopped \('p1', 'p2'\) were started again/,
      ),
      data: { restarted: ["p1", "p2"], stillStopped: [], set: false },
    });
    expect(w.starts()).toEqual(["START SLAVE 'p1' SQL_THREAD", "START SLAVE 'p2' SQL_THREAD"]);
  });

  it("a STOP that times out (the session broken): what was stopped is started on a fresh session", async () => {
    const w = world((sql, s) =>
      s === "first" && (sql === "STOP SLAVE 'p2' SQL_THREAD" || sql.startsWith("START"))
        ? new Error("socket timeout")
        : undefined,
    );
    const err = await replaceGtidDomains(w.ctx, step).catch((e: unknown) => e);
    expect(w.fresh).toHaveLength(1);
    expect(w.fresh[0]!.closed).toBe(true);
    expect(w.fresh[0]!.statements).toEqual([
      "START SLAVE 'p1' SQL_THREAD",
      "START SLAVE 'p2' SQL_THREAD",
    ]);
    expect(err).toMatchObject({
      message: expect.stringMatching(/not changed: socket timeout/),
      data: { restarted: ["p1", "p2"], stillStopped: [] },
    });
  });

  it("a START that fails on every session: the others still started, the original error kept, which stay stopped named", async () => {
    const w = world((sql) =>
      sql.startsWith("SET GLOBAL gtid_slave_pos")
        ? new Error("1198 boom")
        : sql === "START SLAVE 'p1' SQL_THREAD"
          ? new Error("1200 misconfigured")
          : undefined,
    );
    const err = await replaceGtidDomains(w.ctx, step).catch((e: unknown) => e);
    expect(w.starts()).toContain("START SLAVE 'p2' SQL_THREAD");
    expect(err).toMatchObject({
      message: expect.stringMatching(
        /not changed: 1198 boom; the SQL threads of 'p1' are NOT running \(1200 misconfigured\)/,
      ),
      data: { restarted: ["p2"], stillStopped: ["p1"] },
    });
  });

  it("a START that fails after a clean SET: the step fails, naming it", async () => {
    const w = world((sql) =>
      sql === "START SLAVE 'p2' SQL_THREAD" ? new Error("1200 x") : undefined,
    );
    const err = await replaceGtidDomains(w.ctx, step).catch((e: unknown) => e);
    expect(err).toMatchObject({
      message: expect.stringMatching(
        /gtid_slave_pos set to 1-1-50,2-2-40,3-5-100; the SQL threads of 'p2' are NOT running/,
      ),
      data: { restarted: ["p1"], stillStopped: ["p2"], set: true },
    });
  });

  it.each([
    [step, 605_000],
    [{ kind: "replace-gtid-domains", domains: [3], pos: "" }, 605_000],
  ])("holds its socket beyond STOP SLAVE's wait: %j → %i ms", (s, want) => {
    expect(socketTimeoutFor(s as ExecStep, 5000)).toBe(want);
  });
});
