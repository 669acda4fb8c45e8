import { describe, expect, it } from "vitest";
import {
  AgentActionNames,
  BEAT_INBOX_PREFIX,
  CommandVerbs,
  inboxPrefix,
  isInboxSubject,
  NATS_ROLES,
  type NatsRole,
  natsPermissions,
  renderAuthorization,
  subjects,
} from "../src/index.js";

/** NATS subject matching: `*` one token, `>` one or more trailing tokens. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

const may = (role: NatsRole, op: "publish" | "subscribe", subject: string, scope = {}) =>
  natsPermissions(role, { hosts: ["h1"], ...scope })[op].allow.some((p) => matches(p, subject));

describe("natsPermissions", () => {
  it("matches subjects as NATS does (the test's own matcher)", () => {
    expect(matches("a.*.c", "a.b.c")).toBe(true);
    expect(matches("a.>", "a.b.c")).toBe(true);
    expect(matches("a.>", "a")).toBe(false);
    expect(matches("a.*", "a.b.c")).toBe(false);
  });

  const c = "main";
  // Who may publish each of Marina's own subjects: exactly the role that owns it.
  const owners: Array<[string, string, NatsRole]> = [
    ["health", subjects.health(c, "db1"), "monitor"],
    ["observed", subjects.observed(c), "monitor"],
    ["topology", subjects.topology(c), "decider"],
    ["events", subjects.events(c), "decider"],
    ["op", subjects.op(c, "op-1"), "decider"],
    ["history", subjects.history(c, "op-1"), "decider"],
    ["exec", subjects.exec(c), "decider"],
    ["leader.cmd", subjects.leaderCmd(c, "failover"), "decider"],
    ...AgentActionNames.map(
      (a) => [`agent ${a}`, subjects.agent("h1", a), "decider"] as [string, string, NatsRole],
    ),
    ["heartbeat", subjects.agentHeartbeat("h1"), "agent"],
    ["progress", subjects.agentProgress("h1"), "agent"],
    ["done", subjects.agentDone("h1"), "agent"],
    ["lease write", "$KV.marina_leader.main", "decider"],
    ["state write", "$KV.marina_state.main", "decider"],
    ["veto", subjects.veto(c, "failover"), "executor"],
  ];
  it.each(owners)("only the %s owner publishes it", (_what, subject, owner) => {
    for (const role of NATS_ROLES) expect(may(role, "publish", subject), role).toBe(role === owner);
  });

  it("commands come from operators (and deciders subscribe to them); observers only watch", () => {
    for (const verb of CommandVerbs) {
      const s = subjects.cmd(c, verb);
      expect(may("operator", "publish", s)).toBe(true);
      expect(may("observer", "publish", s)).toBe(false);
      expect(may("decider", "subscribe", s)).toBe(true);
      expect(may("executor", "subscribe", s)).toBe(false);
    }
    for (const s of [
      subjects.topology(c),
      subjects.events(c),
      subjects.op(c, "x"),
      subjects.history(c, "x"),
    ]) {
      expect(may("observer", "subscribe", s)).toBe(true);
    }
    expect(may("observer", "subscribe", subjects.health(c, "db1"))).toBe(false);
  });

  it("gives veto power to veto-responders alone: they answer vetoes and nothing else", () => {
    const veto = subjects.veto(c, "failover");
    for (const role of NATS_ROLES) {
      const p = natsPermissions(role, { hosts: ["h1"] });
      // Whoever receives a request and may answer it could forge that answer.
      const answers = p.allow_responses === true;
      expect(answers, role).toBe(["decider", "executor", "agent", "veto-responder"].includes(role));
      expect(may(role, "subscribe", veto) && answers, role).toBe(role === "veto-responder");
    }
    const r = natsPermissions("veto-responder", { clusters: ["main"] });
    expect(r.publish.allow).toEqual([]);
    expect(r.subscribe.allow).toEqual(["marina.v1.main.veto.*", "_INBOX_marina_veto_responder.>"]);
    expect(isInboxSubject(`${inboxPrefix("veto-responder")}.x1`)).toBe(true);
  });

  it("scopes clusters and hosts", () => {
    const scope = { clusters: ["main"] };
    expect(may("monitor", "publish", subjects.health("main", "db1"), scope)).toBe(true);
    expect(may("monitor", "publish", subjects.health("other", "db1"), scope)).toBe(false);
    expect(may("agent", "subscribe", subjects.agent("h1", "stop-server"))).toBe(true);
    expect(may("agent", "subscribe", subjects.agent("h2", "stop-server"))).toBe(false);
    expect(() => natsPermissions("agent", {})).toThrow(/hosts/);
  });

  it("gives every role its own inbox and no other's (operators keep the default)", () => {
    const prefixes = NATS_ROLES.map((r) => inboxPrefix(r, "h1"));
    expect(new Set(prefixes).size).toBe(NATS_ROLES.length);
    expect(inboxPrefix("operator")).toBe("_INBOX");
    for (const role of NATS_ROLES) {
      for (const other of NATS_ROLES) {
        const inbox = `${inboxPrefix(other, "h1")}.x1`;
        expect(may(role, "subscribe", inbox), `${role} reads ${other}'s inbox`).toBe(
          role === other,
        );
        expect(may(role, "publish", inbox), `${role} writes ${other}'s inbox`).toBe(false);
      }
    }
    // An agent reads its own host's replies, not another host's.
    expect(may("agent", "subscribe", `${inboxPrefix("agent", "h2")}.x1`)).toBe(false);
  });

  it("lets agents read the topology for their self-fence, and nothing else of the events", () => {
    expect(may("agent", "publish", "$JS.API.DIRECT.GET.MARINA_EVENTS")).toBe(true);
    expect(may("agent", "publish", "$JS.API.STREAM.MSG.GET.MARINA_EVENTS")).toBe(true);
    expect(may("agent", "publish", "$JS.API.CONSUMER.CREATE.MARINA_EVENTS")).toBe(false);
    expect(may("agent", "subscribe", subjects.topology(c))).toBe(true);
    expect(may("agent", "subscribe", subjects.events(c))).toBe(false);
    expect(may("agent", "publish", subjects.topology(c))).toBe(false);
  });

  it("lets executors beat to deciders, and only there", () => {
    const beat = `${BEAT_INBOX_PREFIX}.x1`;
    for (const role of NATS_ROLES) {
      expect(may(role, "publish", beat), role).toBe(role === "executor");
      expect(may(role, "subscribe", beat), role).toBe(role === "decider");
    }
  });

  it("lets only trusted roles create consumers (push delivery goes anywhere on 2.9)", () => {
    const create = "$JS.API.CONSUMER.CREATE.MARINA_EVENTS";
    expect(may("observer", "publish", create)).toBe(false);
    expect(may("monitor", "publish", create)).toBe(false);
    expect(may("operator", "publish", create)).toBe(true);
    for (const role of NATS_ROLES) {
      expect(may(role, "publish", "$JS.API.STREAM.DELETE.MARINA_EVENTS")).toBe(false);
      expect(may(role, "publish", "$JS.API.STREAM.PURGE.KV_marina_leader")).toBe(false);
    }
  });

  it("lets the deciders keep the history; deciders (HTTP API) and operators list it, observers read a record", () => {
    const api = "$JS.API";
    const stream = "MARINA_HISTORY";
    for (const role of NATS_ROLES) {
      expect(may(role, "publish", `${api}.STREAM.CREATE.${stream}`), role).toBe(role === "decider");
      expect(may(role, "publish", `${api}.STREAM.UPDATE.${stream}`), role).toBe(role === "decider");
      expect(may(role, "publish", `${api}.STREAM.DELETE.${stream}`), role).toBe(false);
      expect(may(role, "publish", `${api}.STREAM.PURGE.${stream}`), role).toBe(false);
      expect(may(role, "publish", `${api}.CONSUMER.CREATE.${stream}.x`), role).toBe(
        role === "operator" || role === "decider",
      );
      expect(may(role, "publish", `${api}.DIRECT.GET.${stream}`), role).toBe(
        ["decider", "operator", "observer"].includes(role),
      );
    }
  });
});

describe("renderAuthorization", () => {
  it("writes users, permissions, $VAR passwords unquoted and literals quoted", () => {
    const text = renderAuthorization(
      [
        {
          user: "marina-monitor",
          password: "$MONITOR_PW",
          permissions: natsPermissions("monitor"),
        },
        { user: "admin", password: 'p"w' },
      ],
      { noAuthUser: "admin" },
    );
    expect(text).toContain("password: $MONITOR_PW\n");
    expect(text).toContain('password: "p\\"w"');
    expect(text).toContain('publish: { allow: ["marina.v1.*.health.*"');
    expect(text).toContain('no_auth_user: "admin"');
    expect(text.match(/permissions: \{/g)).toHaveLength(1);
  });
});

describe("isInboxSubject", () => {
  it.each([
    ["_INBOX.abc", true],
    ["_INBOX_marina_operator.abc.1", true],
    ["$KV.marina_state.main.epoch", false],
    ["marina.v1.main.topology", false],
    ["_INBOX", false],
    ["_INBOX.", false],
    ["_INBOX.a.>", false],
    [undefined, false],
  ])("%s → %s", (subject, expected) => {
    expect(isInboxSubject(subject)).toBe(expected);
  });
});
