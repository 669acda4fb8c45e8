// The rule for command bodies (docs/subjects.md, "Commands"): a body with a `type` or a
// `payload` key is an envelope and must be a whole valid one; anything else is the bare
// payload. Each malformed envelope below was once answered ok and, for set-maintenance or
// switchover, carried out.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CommandPayloads,
  CommandReply,
  ENVELOPE_MARKERS,
  isCommandEnvelope,
} from "../src/commands.js";
import { errorBody, parseCommand } from "../src/parse.js";
import { messageSchemas } from "../src/registry.js";
import { CommandVerbs } from "../src/subjects.js";
import { wrap } from "./examples.js";

type Json = Record<string, unknown>;
const status = (over: Json = {}, drop: string[] = []): string => {
  const m: Json = { ...wrap("cmd.status", {}), ...over };
  for (const k of drop) delete m[k];
  return JSON.stringify(m);
};

describe("a command body with `type` or `payload` is a whole envelope", () => {
  it.each([
    ["time null", "time", status({ time: null })],
    ["time not ISO", "time", status({ time: "yesterday" })],
    ["empty id", "id", status({ id: "" })],
    ["129-character id", "id", status({ id: "x".repeat(129) })],
    ["source a number", "source", status({ source: 3 })],
    ["empty source", "source", status({ source: "" })],
    ["version 2", "version", status({ version: 2 })],
    ["an extra top-level key", "extra", status({ extra: 1 })],
    ["no id", "id", status({}, ["id"])],
    ["no time", "time", status({}, ["time"])],
    ["no source", "source", status({}, ["source"])],
    ["no version", "version", status({}, ["version"])],
    ["payload but no type", "type", status({}, ["type"])],
    ["type but no payload", "payload", status({}, ["payload"])],
    ["type alone", "version", '{"type":"cmd.status"}'],
    ["payload alone", "type", '{"payload":{}}'],
    ["another verb's type", "type", status({ type: "cmd.switchover" })],
    ["payload not an object", "payload", status({ payload: [] })],
    ["a bad field in the payload", "payload.target", status({ payload: { target: "db2" } })],
  ])("refuses %s, naming %s", (_label, path, body) => {
    const r = parseCommand("status", body);
    expect(r.ok ? "accepted" : [r.error.code, r.error.path]).toEqual(["VALIDATION_FAILED", path]);
  });

  it("refuses the same in commands that act", () => {
    const body = JSON.stringify({
      ...wrap("cmd.set-maintenance", { server: "db2" }),
      time: null,
    });
    const r = parseCommand("set-maintenance", body);
    expect(r.ok ? "accepted" : r.error.path).toBe("time");
    const sw = parseCommand("switchover", JSON.stringify({ type: "cmd.switchover", payload: {} }));
    expect(sw.ok ? "accepted" : sw.error.path).toBe("version");
  });

  it("takes a valid envelope, and its payload's defaults", () => {
    expect(parseCommand("status", status())).toEqual({ ok: true, value: {} });
    const sw = parseCommand("switchover", JSON.stringify(wrap("cmd.switchover", {})));
    expect(sw).toEqual({ ok: true, value: { force: false, timeoutMs: 10_000 } });
  });
});

describe("any other body is the bare payload", () => {
  it.each([
    ["status", "{}", {}],
    ["status", "", {}],
    ["set-maintenance", '{"server":"db2"}', { server: "db2" }],
    // `source` is an envelope key, and a rebuild's field: the body is still a bare payload.
    [
      "rebuild",
      '{"target":"db3","source":"db2"}',
      {
        target: "db3",
        source: "db2",
        method: "physical",
        compression: { kind: "none" },
        tls: false,
      },
    ],
  ])("%s %s", (verb, body, value) => {
    expect(parseCommand(verb, body)).toEqual({ ok: true, value });
  });

  it.each([
    ["status", '{"id":"x1","time":null,"source":"me"}', "id"],
    ["rebuild", '{"target":"db3","source":3}', "source"],
    ["status", "[]", ""],
    ["status", "null", ""],
    ["status", '"status"', ""],
  ])("%s %s is refused naming %j", (verb, body, path) => {
    const r = parseCommand(verb, body);
    expect(r.ok ? "accepted" : [r.error.code, r.error.path]).toEqual(["VALIDATION_FAILED", path]);
  });

  it.each(['{"target":"db3","transport":"ssh"}', '{"target":"db3","transport":"agent"}'])(
    "rebuild %s: transport is gone, refused at the field saying where SSH went",
    (body) => {
      const r = parseCommand("rebuild", body);
      expect(r.ok ? "accepted" : [r.error.code, r.error.path]).toEqual([
        "VALIDATION_FAILED",
        "transport",
      ]);
      expect(r.ok ? "" : r.error.message).toMatch(
        /^transport: removed: SSH hosts are served by an agent now/,
      );
    },
  );

  it("isCommandEnvelope looks at own keys of plain objects only", () => {
    expect(isCommandEnvelope({ payload: 1 })).toBe(true);
    expect(isCommandEnvelope({ type: undefined })).toBe(true);
    expect(isCommandEnvelope(JSON.parse('{"__proto__":{"type":1}}'))).toBe(false);
    expect(isCommandEnvelope(["type", "payload"])).toBe(false);
    expect(isCommandEnvelope("type")).toBe(false);
    expect(isCommandEnvelope(null)).toBe(false);
  });
});

describe("no command payload can be mistaken for an envelope", () => {
  const payloadSchemas = Object.entries(messageSchemas).filter(([n]) =>
    /^cmd\..+\.payload$/.test(n),
  );

  it("covers every verb", () => {
    expect(payloadSchemas.map(([n]) => n).sort()).toEqual(
      CommandVerbs.map((v) => `cmd.${v}.payload`).sort(),
    );
  });

  it.each(payloadSchemas)("%s has no field named type or payload", (_name, schema) => {
    expect(schema).toBeInstanceOf(z.ZodObject);
    const fields = Object.keys((schema as z.ZodObject).shape);
    for (const marker of ENVELOPE_MARKERS) expect(fields).not.toContain(marker);
  });

  it("the registry's payload schemas are the ones parseCommand uses", () => {
    for (const v of CommandVerbs)
      expect(messageSchemas[`cmd.${v}.payload`]).toBe(CommandPayloads[v]);
  });
});

describe("errors fit the reply whatever the input", () => {
  it("clips a message and a path that quote huge input", () => {
    const r = parseCommand("rejoin", JSON.stringify({ server: "db1", ["k".repeat(5000)]: 1 }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const reply = { ok: false, verb: "rejoin", error: r.error };
      expect(CommandReply.safeParse(reply).success).toBe(true);
      expect(r.error.path?.startsWith("kkk")).toBe(true);
    }
    const many = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`key${i}`, 1]));
    const m = parseCommand("status", JSON.stringify(many));
    expect(m.ok ? 0 : m.error.message.length).toBeLessThanOrEqual(4096);
    expect(errorBody("INTERNAL", "x".repeat(10_000), "p".repeat(1000))).toMatchObject({
      message: expect.stringMatching(/^x{4095}…$/),
      path: expect.stringMatching(/^p{511}…$/),
    });
  });

  it("names an unknown verb without quoting all of it", () => {
    const r = parseCommand("x".repeat(10_000), "{}");
    expect(r.ok ? "accepted" : [r.error.code, r.error.path]).toEqual(["UNKNOWN_COMMAND", "verb"]);
    if (!r.ok) expect(r.error.message.length).toBeLessThan(400);
  });
});
