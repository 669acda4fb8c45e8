import { describe, expect, it } from "vitest";
import { checkTrial, type WriterRecord } from "../src/trials/checker.js";

const writer = (name: string, acks: Array<[number, number, string]>, attempted?: number[]) =>
  ({
    name,
    acks: acks.map(([id, at, server]) => ({ id, at, server })),
    attempted: attempted ?? acks.map(([id]) => id),
  }) satisfies WriterRecord;

describe("checkTrial", () => {
  it("a clean failover: nothing lost, nothing unexpected, no overlap", () => {
    const r = checkTrial({
      writers: [
        writer("follow", [
          [1, 10, "db1"],
          [2, 20, "db1"],
          [3, 300, "db2"],
        ]),
      ],
      present: [1, 2, 3],
      faultAt: 100,
    });
    expect(r).toEqual({ acked: 3, lost: [], unexpected: [], dualAck: [] });
  });

  it("counts an acknowledged id missing on the final primary as lost", () => {
    const r = checkTrial({
      writers: [writer("beside", [[5, 150, "db1"]]), writer("follow", [[6, 200, "db2"]])],
      present: [6],
      faultAt: 100,
    });
    expect(r.lost).toEqual([5]);
  });

  it("an id in doubt may be present; an id nobody attempted may not", () => {
    const r = checkTrial({
      writers: [writer("w", [[1, 10, "db1"]], [1, 2])],
      present: [1, 2, 99],
      faultAt: 5,
    });
    expect(r.unexpected).toEqual([99]);
    expect(r.lost).toEqual([]);
  });

  it("acknowledgements by two servers in overlapping time after the fault are dual", () => {
    const r = checkTrial({
      writers: [
        writer("beside", [
          [1, 50, "db1"], // before the fault: not counted
          [2, 120, "db1"],
          [3, 220, "db1"], // db1 still acknowledging after db2 began: split brain
        ]),
        writer("follow", [
          [10, 200, "db2"],
          [11, 260, "db2"],
        ]),
      ],
      present: [1, 2, 3, 10, 11],
      faultAt: 100,
    });
    expect(r.dualAck).toEqual([3, 10]);
  });

  it("the old primary's last ack before the new one's first is not dual", () => {
    const r = checkTrial({
      writers: [writer("a", [[1, 150, "db1"]]), writer("b", [[2, 151, "db2"]])],
      present: [1, 2],
      faultAt: 100,
    });
    expect(r.dualAck).toEqual([]);
  });
});
