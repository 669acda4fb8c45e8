// An in-memory Bus with NATS subject matching (`*`, `>`), asynchronous delivery and
// request/reply, recording what was published, requested and answered on one timeline.
import { MarinaError } from "@marina/contracts";
import type { Bus, BusMsg, BusSubscription } from "../src/bus.js";

interface Sub {
  readonly pattern: string;
  readonly deliver: (msg: BusMsg) => void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (d: string | Uint8Array) => (typeof d === "string" ? enc.encode(d) : d);

export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

export class FakeBus implements Bus {
  /** `publish <subject>`, `request <subject>`, `reply <subject>`, and what others add. */
  readonly timeline: string[] = [];
  readonly published: { subject: string; data: unknown }[] = [];
  readonly requests: { subject: string; data: string }[] = [];
  private readonly subs = new Set<Sub>();
  private inboxes = 0;

  publish(subject: string, data: string | Uint8Array): void {
    this.timeline.push(`publish ${subject}`);
    this.published.push({ subject, data: JSON.parse(dec.decode(bytes(data))) });
    this.deliver(subject, bytes(data), () => false);
  }

  subscribe(subject: string, deliver: (msg: BusMsg) => void): BusSubscription {
    const sub = { pattern: subject, deliver };
    this.subs.add(sub);
    return { unsubscribe: () => void this.subs.delete(sub) };
  }

  request(subject: string, data: string | Uint8Array, opts: { timeoutMs: number }) {
    this.timeline.push(`request ${subject}`);
    this.requests.push({ subject, data: dec.decode(bytes(data)) });
    return this.exchange(subject, data, opts.timeoutMs);
  }

  /** A request from outside the decider (a client's command); resolves with the reply. */
  async ask(subject: string, data: unknown, timeoutMs = 2_000): Promise<unknown> {
    const r = await this.exchange(subject, JSON.stringify(data), timeoutMs);
    return JSON.parse(dec.decode(r.data));
  }

  /** A message from outside the decider (a monitor's sample, an agent's beat). */
  send(subject: string, data: unknown): void {
    const text = typeof data === "string" ? data : JSON.stringify(data);
    this.deliver(subject, enc.encode(text), () => false);
  }

  /** Stored like a publish (there is no stream here); a repeated msgId is stored once. */
  async store(subject: string, data: string | Uint8Array, msgId: string): Promise<void> {
    if (this.storedIds.has(msgId)) return;
    this.storedIds.add(msgId);
    this.publish(subject, data);
  }

  private readonly storedIds = new Set<string>();

  async flush(): Promise<void> {}

  beatInbox(): string {
    this.inboxes += 1;
    return `_INBOX.fake.${this.inboxes}`;
  }

  /** Whether anyone listens on `subject`. */
  listens(subject: string): boolean {
    return [...this.subs].some((s) => subjectMatches(s.pattern, subject));
  }

  publishedOn(subject: string): unknown[] {
    return this.published.filter((p) => p.subject === subject).map((p) => p.data);
  }

  private exchange(subject: string, data: string | Uint8Array, timeoutMs: number) {
    return new Promise<BusMsg>((resolve, reject) => {
      if (!this.listens(subject)) {
        reject(new MarinaError("SERVER_UNREACHABLE", `no responders on ${subject}`));
        return;
      }
      const timer = setTimeout(() => reject(new Error("TIMEOUT")), timeoutMs);
      this.deliver(subject, bytes(data), (answer) => {
        clearTimeout(timer);
        this.timeline.push(`reply ${subject}`);
        resolve({ subject, data: bytes(answer), respond: () => false });
        return true;
      });
    });
  }

  private deliver(
    subject: string,
    data: Uint8Array,
    respond: (answer: string | Uint8Array) => boolean,
  ): void {
    const msg: BusMsg = { subject, data, respond };
    // Like NATS: later, and only to whoever is subscribed when the message is sent.
    for (const s of [...this.subs]) {
      if (subjectMatches(s.pattern, subject)) queueMicrotask(() => s.deliver(msg));
    }
  }
}
