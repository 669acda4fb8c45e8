// What the steps that touch no server (run-hook, ask-veto) are given.
import type { ExecRequest } from "@marina/contracts";
import type { Logger } from "@marina/runtime";
import type { ResolvedCluster } from "../targets.js";

/** Sends `data` on `subject` and returns every reply's bytes received within `timeoutMs`. */
export type VetoAsker = (
  subject: string,
  data: Uint8Array,
  timeoutMs: number,
) => Promise<Uint8Array[]>;

export interface HostStepContext {
  readonly cluster: ResolvedCluster;
  readonly request: ExecRequest;
  readonly log: Logger;
  /** The executor's envelope source (`executor:<id>`). */
  readonly source: string;
  /** NATS request with many replies (the veto subject). */
  readonly ask: VetoAsker;
}
