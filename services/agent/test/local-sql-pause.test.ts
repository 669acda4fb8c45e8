// pauseSqlThreads (host/local-sql.ts) over a fake connector: a STOP that fails (it may have
// taken effect before the error) is started again with the others it stopped.
import { describe, expect, it, vi } from "vitest";

const sent: string[] = [];
vi.mock("mariadb", () => ({
  createConnection: async () => ({
    on: () => {},
    end: async () => {},
    destroy: () => {},
    query: async (sql: string) => {
      sent.push(sql);
      if (sql === "SHOW ALL SLAVES STATUS") {
        return [
          { Connection_name: "p1", Slave_SQL_Running: "Yes" },
          { Connection_name: "p2", Slave_SQL_Running: "Yes" },
        ];
      }
      if (sql === "STOP SLAVE 'p2' SQL_THREAD") throw new Error("Lost connection to server");
      return [];
    },
  }),
}));
const { pauseSqlThreads } = await import("../src/host/local-sql.js");

describe("pauseSqlThreads", () => {
  it("a STOP that fails part-way: every thread it tried to stop is started again", async () => {
    const account = { socket: "/run/x.sock", user: "backup", password: "", timeoutMs: 1000 };
    await expect(pauseSqlThreads(account)).rejects.toThrow(/Lost connection/);
    expect(sent.filter((s) => s.startsWith("START"))).toEqual([
      "START SLAVE 'p1' SQL_THREAD",
      "START SLAVE 'p2' SQL_THREAD",
    ]);
  });
});
