// One fault of a trial, injected by kind (fault-kinds.ts says what each kind is). Resolves
// once the fault is over: healed, thawed, restarted, or the operation it struck has ended.
import { sleep } from "@marina/lab";
import type { FaultKind } from "./fault-kinds.js";
import {
  freezeHost,
  freezeServer,
  killAndRestart,
  PRIMARY_DOWN_MS,
  slowDown,
} from "./faults-hosts.js";
import {
  killCandidate,
  killDecider,
  killExecutor,
  killNats,
  type MarinaFaultOutcome,
  type MarinaFaultRun,
  stopDecider,
  switchoverLag,
} from "./faults-marina.js";
import { cutNetwork } from "./faults-network.js";

export type FaultRun = MarinaFaultRun;
export type FaultOutcome = MarinaFaultOutcome;

export async function injectFault(kind: FaultKind, r: FaultRun): Promise<FaultOutcome> {
  switch (kind) {
    case "kill9":
      await killAndRestart(r.old, PRIMARY_DOWN_MS);
      return { detail: `down ${PRIMARY_DOWN_MS} ms` };
    case "sigstop":
      await freezeServer(r.old, true);
      await sleep(r.ms);
      await freezeServer(r.old, false);
      return { detail: "mariadbd frozen" };
    case "slow":
      await slowDown(r.old, r.ms);
      return { detail: "SIGSTOP 600 ms / SIGCONT 400 ms" };
    case "freeze-host":
      return { detail: await freezeHost(r.stack, r.old, r.ms) };
    case "isolate":
    case "isolate-marina":
    case "split":
    case "isolate-replicas":
    case "one-way":
      return { detail: await cutNetwork(kind, r.stack.lab, r.old.name, r.ms, r.random) };
    case "kill-decider":
      return killDecider(r);
    case "kill-candidate":
      return killCandidate(r);
    case "kill-executor":
      return killExecutor(r);
    case "stop-decider":
      return stopDecider(r);
    case "kill-nats":
      return killNats(r);
    case "switchover-lag":
      return switchoverLag(r);
    default: {
      const never: never = kind;
      throw new Error(`unknown fault ${String(never)}`);
    }
  }
}
