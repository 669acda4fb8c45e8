// What the executor needs of @marina/runtime's Clock: wall time for durations and waits it
// can sleep through (tests drive both with a fake).
import type { Clock as RuntimeClock } from "@marina/runtime";

export type Clock = Pick<RuntimeClock, "now" | "sleep">;
