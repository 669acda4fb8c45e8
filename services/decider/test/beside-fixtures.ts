// The Marina config the tests of the operations run beside the cores share (provision-replica,
// backup, restore-backup): db3 is a multi-source replica listed in p1 = {db1, db3} and
// p2 = {db2, db3}; p3 = {db4} does not list it. Each server has an agent `h-<name>`.
import { MarinaConfig } from "@marina/contracts";

const server = (name: string, port: number) => ({
  name,
  host: "127.0.0.1",
  port,
  agentHost: `h-${name}`,
});
const base = {
  admin: { user: "marina", password: { value: "x" } },
  replication: { user: "repl", password: { value: "y" } },
  semiSync: false,
  monitor: {},
};
export const config = MarinaConfig.parse({
  nats: { servers: ["nats://127.0.0.1:4222"] },
  clusters: [
    // db3, the multi-source replica, is never promoted in either cluster (a check).
    {
      ...base,
      name: "p1",
      servers: [server("db1", 3301), { ...server("db3", 3303), promotion: "never" }],
    },
    {
      ...base,
      name: "p2",
      servers: [server("db2", 3302), { ...server("db3", 3303), promotion: "never" }],
    },
    { ...base, name: "p3", servers: [server("db4", 3304)] },
  ],
});

/** Each cluster's primary as the fake views report it. */
export const PRIMARIES: Record<string, string> = { p1: "db1", p2: "db2", p3: "db4" };
