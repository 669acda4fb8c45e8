// What the decider needs from NATS core: publish, subscribe (optionally in a queue group)
// and request/reply. The app is built on this interface so that its tests run over an
// in-memory bus; nats-bus.ts adapts a real connection.
export interface BusMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Answers a request; false when the message carried no reply subject. */
  respond(data: string | Uint8Array): boolean;
}

export interface BusSubscription {
  unsubscribe(): void;
}

export interface Bus {
  publish(subject: string, data: string | Uint8Array): void;
  /** Messages that arrive with a transport error are not delivered. */
  subscribe(
    subject: string,
    deliver: (msg: BusMsg) => void,
    opts?: { queue?: string },
  ): BusSubscription;
  /**
   * One request; rejects with MarinaError `SERVER_UNREACHABLE` when nobody listens on
   * `subject`, with another error when no reply came within `timeoutMs`.
   */
  request(subject: string, data: string | Uint8Array, opts: { timeoutMs: number }): Promise<BusMsg>;
  /**
   * Publishes into the JetStream stream that keeps `subject` and resolves once the stream
   * stored it; a second message with the same `msgId` (within the stream's duplicate
   * window) is stored once. Rejects when no stream acknowledged it.
   */
  store(subject: string, data: string | Uint8Array, msgId: string): Promise<void>;
  /** Resolves once what was published or subscribed so far has reached the server. */
  flush(): Promise<void>;
  /**
   * A fresh subject for the beats of one step, under BEAT_INBOX_PREFIX: executors may
   * publish there and nowhere else of the decider's (not to its reply inboxes).
   */
  beatInbox(): string;
}
