import { describe, expect, it } from "vitest";
import { formatPositions } from "../src/watch.js";

describe("formatPositions", () => {
  it("shows roles, positions, connections and dead nodes", () => {
    const text = formatPositions(
      [
        {
          name: "db1",
          port: 1,
          reachable: true,
          running: true,
          readOnly: false,
          binlogPos: "0-1-5",
          currentPos: "0-1-5",
          slavePos: "",
          semiSyncMaster: "ON",
          connections: [],
        },
        {
          name: "db2",
          port: 2,
          reachable: true,
          running: true,
          readOnly: true,
          binlogPos: "0-1-5",
          currentPos: "0-1-5",
          slavePos: "0-1-5",
          connections: [
            { name: "", master: "127.0.0.1:1", io: "Yes", sql: "Yes", lag: 0, error: "" },
          ],
        },
        { name: "db3", port: 3, reachable: false, running: false },
      ],
      new Date(0),
    );
    expect(text).toContain("1970-01-01T00:00:00.000Z");
    expect(text).toMatch(/db1 +:1 +primary RW semi-sync +binlog=0-1-5/);
    expect(text).toMatch(/db2 +:2 +replica ro +binlog=0-1-5 +current=0-1-5 +slave=0-1-5/);
    expect(text).toContain("from 127.0.0.1:1 io=Yes sql=Yes lag=0s");
    expect(text).toMatch(/db3 +:3 +DOWN/);
  });
});
