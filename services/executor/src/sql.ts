// SQL text for every statement the executor sends. Pure: no connection, no I/O. The
// replication statements are shared with the decider's dry-run (@marina/contracts/replication-sql).
export * from "@marina/contracts/replication-sql";

// One definition with the fence kernel's (@marina/mariadb, fence/kill-rounds.ts).
export { killConnection, setReadOnly } from "@marina/mariadb";
