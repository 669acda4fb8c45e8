// The smaller views: lag, colour decisions, stream lines, the watch screen, exit codes.
import { describe, expect, it } from "vitest";
import { exitOf } from "../src/commands/verb.js";
import { EXIT } from "../src/exit-codes.js";
import { formatLag, transactionsBehind } from "../src/format/lag.js";
import { formatRefusal } from "../src/format/refusal.js";
import { formatPublished } from "../src/format/stream.js";
import { colorWanted, PLAIN } from "../src/format/style.js";
import { renderWatch } from "../src/format/watch-view.js";
import { NOW, opEvent, topologyOf } from "./fixtures.js";

describe("lag from GTID positions", () => {
  it.each([
    ["0-1-100", "0-1-100", "0"],
    ["0-1-100", "0-1-88", "12 trx"],
    ["0-1-100,1-2-10", "0-1-99,1-2-5", "6 trx"],
    ["0-1-100", "", "100 trx"],
    ["0-1-100", "0-3-101", "ahead"],
    ["0-1-100", null, "?"],
    [null, "0-1-5", "?"],
    ["0-1-100", "junk", "?"],
  ])("primary %s, server %s: %s", (p, s, text) => {
    expect(formatLag(transactionsBehind(p, s))).toBe(text);
  });
});

describe("colour", () => {
  it.each([
    [{ isTTY: true, env: {}, disabled: false }, true],
    [{ isTTY: false, env: {}, disabled: false }, false],
    [{ isTTY: true, env: { NO_COLOR: "1" }, disabled: false }, false],
    [{ isTTY: true, env: { NO_COLOR: "" }, disabled: false }, true],
    [{ isTTY: true, env: { TERM: "dumb" }, disabled: false }, false],
    [{ isTTY: true, env: {}, disabled: true }, false],
  ])("%j → %s", (c, want) => expect(colorWanted(c)).toBe(want));
});

describe("lines of a stream", () => {
  const at = new Date("2026-11-20T12:00:01.123Z");
  it("prints events, topologies and operation messages on one line each", () => {
    const event = {
      cluster: "main",
      situation: "ServerDiverged" as const,
      actionable: true,
      server: "db3",
      reason: "applied 0-3-1 that db2 never had",
      epoch: 1,
      extraGtids: "0-3-1",
      details: {},
    };
    expect(formatPublished({ kind: "event", at, event }, PLAIN)).toBe(
      "12:00:01.123Z  ServerDiverged db3: applied 0-3-1 that db2 never had extra 0-3-1",
    );
    const topology = topologyOf([{ name: "db1", role: "primary" }, { name: "db2" }]);
    expect(formatPublished({ kind: "topology", at, topology }, PLAIN)).toBe(
      "12:00:01.123Z  topology gen 7: primary db1, writer db1 (10.0.0.1:3306)  [db1=primary db2=replica]",
    );
    expect(
      formatPublished(
        { kind: "operation", at, operation: opEvent({ phase: "demote", message: "demoting db1" }) },
        PLAIN,
      ),
    ).toBe("12:00:01.123Z  switchover op-1 running/demote: demoting db1");
  });

  it("prints a refusal with its code, field and whether to retry", () => {
    expect(
      formatRefusal(
        "switchover",
        {
          code: "UNKNOWN_SERVER",
          message: "db9 is not a server of cluster main",
          path: "target",
          retryable: false,
        },
        PLAIN,
      ),
    ).toEqual([
      "switchover refused: UNKNOWN_SERVER at target: db9 is not a server of cluster main",
    ]);
    expect(
      formatRefusal("failover", { code: "COOLDOWN", message: "too soon", retryable: true }, PLAIN),
    ).toEqual([
      "failover refused: COOLDOWN: too soon",
      "  (retryable: the same command may succeed in a moment)",
    ]);
  });
});

describe("the watch screen", () => {
  it("shows the tree, the running operation with its progress and the latest events", () => {
    const text = renderWatch(
      {
        cluster: "main",
        topology: topologyOf([
          { name: "db1", role: "primary" },
          { name: "db2", sources: [{ source: "db1", connection: "" }] },
        ]),
        operation: {
          at: NOW,
          event: opEvent({
            kind: "rebuild",
            phase: "stream",
            message: "streaming",
            progress: { bytes: 1024, totalBytes: 4096, bytesPerSecond: 512, etaMs: 6000 },
          }),
        },
        events: [
          {
            at: NOW,
            event: {
              cluster: "main",
              situation: "PrimaryHealthy",
              actionable: false,
              server: "db1",
              reason: "reachable",
              epoch: 1,
              extraGtids: null,
              details: {},
            },
          },
        ],
        connected: false,
      },
      NOW,
      PLAIN,
    );
    expect(text.split("\n")[0]).toBe(
      "marina watch  cluster main  12:00:10Z  NATS disconnected, reconnecting…  Ctrl-C quits",
    );
    expect(text).toContain("└── db2  replica");
    expect(text).toContain(
      "operation: rebuild op-1  phase stream  running for 10.0 s\n  streaming\n  1.00 KiB of ~4.00 KiB (25%) at 512 B/s, ETA 6.0 s",
    );
    expect(text).toContain("recent events:\n  12:00:10Z  PrimaryHealthy db1: reachable");
  });

  it("shows the last operation's outcome once it ended", () => {
    const text = renderWatch(
      {
        cluster: "main",
        topology: null,
        operation: {
          at: NOW,
          event: opEvent({ state: "succeeded", message: "done", timings: { total: 176 } }),
        },
        events: [],
        connected: true,
      },
      NOW,
      PLAIN,
    );
    expect(text).toContain("no topology published yet");
    expect(text).toContain(
      "last operation: switchover op-1 succeeded 12:00:10Z: done\n  total 176 ms",
    );
    expect(text).toContain("recent events:\n  none");
  });
});

describe("exit codes of a followed operation", () => {
  it.each([
    ["switchover", "done", "succeeded", EXIT.ok],
    ["switchover", "done", "failed", EXIT.failed],
    ["rebuild", "done", "cancelled", EXIT.failed],
    ["cancel", "done", "cancelled", EXIT.ok],
    ["cancel", "done", "succeeded", EXIT.failed],
    ["failover", "timeout", "running", EXIT.timeout],
    ["failover", "interrupted", "running", EXIT.interrupted],
  ] as const)("%s, %s, %s → %d", (verb, end, state, code) => {
    expect(exitOf(verb, end, opEvent({ state }))).toBe(code);
  });
});
