// Following one operation on `marina.v1.<cluster>.op.<opId>` from its first message (the
// stream keeps them, so nothing published before we looked is missed) to its outcome.
import { type OperationEvent, subjects } from "@marina/contracts";
import type { NatsConnection } from "@nats-io/transport-node";
import { readPublished } from "./events-stream.js";
import { isFinal } from "./format/operation.js";

export type FollowEnd = "done" | "timeout" | "interrupted";

export interface FollowOptions {
  /** 0: no limit. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onEvent: (ev: OperationEvent, at: Date) => void;
  readonly onInvalid?: (subject: string, message: string) => void;
}

export interface Followed {
  readonly end: FollowEnd;
  /** The last message seen (the outcome when `end` is "done"). */
  readonly last: OperationEvent | null;
}

export async function followOperation(
  nc: NatsConnection,
  cluster: string,
  opId: string,
  o: FollowOptions,
): Promise<Followed> {
  const stop = new AbortController();
  let end: FollowEnd | null = null;
  let last: OperationEvent | null = null;
  const finish = (why: FollowEnd) => {
    end ??= why;
    stop.abort();
  };
  const timer = o.timeoutMs > 0 ? setTimeout(() => finish("timeout"), o.timeoutMs) : undefined;
  const interrupted = () => finish("interrupted");
  if (o.signal?.aborted) interrupted();
  o.signal?.addEventListener("abort", interrupted, { once: true });
  try {
    await readPublished(
      nc,
      {
        cluster,
        filters: [subjects.op(cluster, opId)],
        follow: true,
        signal: stop.signal,
        ...(o.onInvalid ? { onInvalid: o.onInvalid } : {}),
      },
      (p) => {
        if (p.kind !== "operation" || end !== null) return;
        last = p.operation;
        o.onEvent(p.operation, p.at);
        if (isFinal(p.operation)) finish("done");
      },
    );
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", interrupted);
  }
  return { end: end ?? "interrupted", last };
}
