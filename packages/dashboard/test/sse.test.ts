import { describe, expect, it } from "vitest";
import { parseSse } from "../src/web/model/sse.js";

describe("parseSse", () => {
  it("splits frames, skips comments, keeps an incomplete frame for later", () => {
    const text =
      ': marina events\n\nevent: topology\ndata: {"a":1}\n\n: keepalive\n\nevent: operation\ndata: {"b"';
    const r = parseSse(text);
    expect(r.frames).toEqual([{ event: "topology", data: '{"a":1}' }]);
    expect(r.rest).toBe('event: operation\ndata: {"b"');
    const next = parseSse(`${r.rest}:2}\n\n`);
    expect(next.frames).toEqual([{ event: "operation", data: '{"b":2}' }]);
    expect(next.rest).toBe("");
  });

  it("reads CRLF line ends, multi-line data, and a frame without an event name", () => {
    const r = parseSse("data: one\r\ndata: two\r\n\r\nevent:x\ndata:y\n\n");
    expect(r.frames).toEqual([
      { event: "message", data: "one\ntwo" },
      { event: "x", data: "y" },
    ]);
  });

  it("any split of a stream gives the same frames", () => {
    const stream = 'event: event\ndata: {"k":"v"}\n\n: c\n\nevent: topology\ndata: {}\n\n';
    const whole = parseSse(stream).frames;
    for (let cut = 0; cut <= stream.length; cut++) {
      const a = parseSse(stream.slice(0, cut));
      const b = parseSse(a.rest + stream.slice(cut));
      expect([...a.frames, ...b.frames], `cut at ${cut}`).toEqual(whole);
    }
  });
});
