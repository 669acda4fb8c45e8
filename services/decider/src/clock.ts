// The part of @marina/runtime's Clock the decider reads, so test fakes stay small:
// `now` (decide()'s time, operation ids) and `monotonic` (the lease's TTL, which must not
// jump with the wall clock).
import type { Clock as RuntimeClock } from "@marina/runtime";

export type Clock = Pick<RuntimeClock, "now" | "monotonic">;
