// What the executors are asked and who runs it: every exec request (a plain subscription
// gets a copy of what the queue group gets) with its sender, and the executors' step beats
// (`{stepId, executor}`, sent at once when a step starts), which name the executor running
// each step.
import {
  BEAT_INBOX_PREFIX,
  ExecBeat,
  type ExecRequest,
  ExecRequestMessage,
  parseMessage,
  subjects,
} from "@marina/contracts";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";

export interface SeenRequest {
  readonly at: number;
  /** The sending decider's id (the envelope's source). */
  readonly source: string;
  readonly request: ExecRequest;
}

export interface ExecWatch {
  readonly requests: readonly SeenRequest[];
  /** Resolves with the first step (seen from now on) whose executor beats and `match` accepts. */
  running(
    match: (r: ExecRequest) => boolean,
    timeoutMs: number,
  ): Promise<{ request: ExecRequest; executor: string } | undefined>;
  close(): void;
}

export function watchExec(nc: NatsConnection, cluster = "main"): ExecWatch {
  const requests: SeenRequest[] = [];
  const byStep = new Map<string, ExecRequest>();
  const beatWaiters = new Set<(b: ExecBeat) => void>();
  const subs: Subscription[] = [
    nc.subscribe(subjects.exec(cluster), {
      callback: (_e, m) => {
        const r = parseMessage(ExecRequestMessage, m.data);
        if (!r.ok) return;
        const { source, payload } = r.value;
        requests.push({ at: performance.now(), source, request: payload });
        byStep.set(payload.stepId, payload);
      },
    }),
    nc.subscribe(`${BEAT_INBOX_PREFIX}.>`, {
      callback: (_e, m) => {
        let beat: ExecBeat;
        try {
          beat = ExecBeat.parse(m.json());
        } catch {
          return;
        }
        for (const w of beatWaiters) w(beat);
      },
    }),
  ];
  return {
    requests,
    running(match, timeoutMs) {
      return new Promise((resolve) => {
        const done = (v: { request: ExecRequest; executor: string } | undefined) => {
          clearTimeout(timer);
          beatWaiters.delete(onBeat);
          resolve(v);
        };
        const onBeat = (b: ExecBeat) => {
          const request = byStep.get(b.stepId);
          if (request && match(request)) done({ request, executor: b.executor });
        };
        const timer = setTimeout(() => done(undefined), timeoutMs);
        beatWaiters.add(onBeat);
      });
    },
    close() {
      for (const s of subs) s.unsubscribe();
    },
  };
}
