// Commands waiting for their reply: the command intake holds the request message under a
// request id, the core answers with a `reply` action naming that id.
import {
  type CommandReply,
  CommandReplyMessage,
  type ErrorBody,
  envelope,
  mustParse,
  VERB_MAX,
} from "@marina/contracts";
import type { BusMsg } from "./bus.js";

export class PendingReplies {
  private readonly waiting = new Map<string, BusMsg>();
  private counter = 0;

  /**
   * @param source envelope source of the replies, and prefix of request ids
   * @param onAnswer told of every answer: the verb, and "ok" or the error code
   */
  constructor(
    private readonly source: string,
    private readonly onAnswer: (verb: string, outcome: string) => void = () => {},
  ) {}

  /** Keeps `msg` until the core answers; returns the request id to give the core. */
  hold(msg: BusMsg): string {
    this.counter += 1;
    const requestId = `${this.source}-${this.counter}`;
    this.waiting.set(requestId, msg);
    return requestId;
  }

  /**
   * Answers a held request (once); unknown ids are ignored. A reply that breaks its own
   * schema (a bug) is answered INTERNAL instead, naming what was wrong: it must never take
   * the decider down with it.
   */
  answer(requestId: string, reply: CommandReply): void {
    const msg = this.waiting.get(requestId);
    if (!msg) return;
    this.waiting.delete(requestId);
    let text: string;
    try {
      text = JSON.stringify(
        mustParse(CommandReplyMessage, envelope("command-reply", this.source, reply)),
      );
    } catch (err) {
      const message = `the decider's reply did not fit its schema: ${(err as Error).message}`;
      const error: ErrorBody = {
        code: "INTERNAL",
        message: message.slice(0, 4096),
        retryable: false,
      };
      text = JSON.stringify(
        envelope("command-reply", this.source, { ok: false, verb: reply.verb, error }),
      );
    }
    msg.respond(text);
    this.onAnswer(reply.verb, reply.ok ? "ok" : reply.error.code);
  }

  /** Answers `msg` with an error, before it reached the core. */
  refuse(msg: BusMsg, verb: string, error: ErrorBody): void {
    // The verb comes from the subject: any token at all, so it is clipped to fit the reply.
    const reply: CommandReply = { ok: false, verb: verb.slice(0, VERB_MAX), error };
    msg.respond(JSON.stringify(envelope("command-reply", this.source, reply)));
    this.onAnswer(reply.verb, error.code);
  }
}
