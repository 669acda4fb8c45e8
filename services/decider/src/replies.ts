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

  /** @param source envelope source of the replies, and prefix of request ids */
  constructor(private readonly source: string) {}

  /** Keeps `msg` until the core answers; returns the request id to give the core. */
  hold(msg: BusMsg): string {
    this.counter += 1;
    const requestId = `${this.source}-${this.counter}`;
    this.waiting.set(requestId, msg);
    return requestId;
  }

  /** Answers a held request (once); unknown ids are ignored. */
  answer(requestId: string, reply: CommandReply): void {
    const msg = this.waiting.get(requestId);
    if (!msg) return;
    this.waiting.delete(requestId);
    msg.respond(
      JSON.stringify(mustParse(CommandReplyMessage, envelope("command-reply", this.source, reply))),
    );
  }

  /** Answers `msg` with an error, before it reached the core. */
  refuse(msg: BusMsg, verb: string, error: ErrorBody): void {
    // The verb comes from the subject: any token at all, so it is clipped to fit the reply.
    const reply: CommandReply = { ok: false, verb: verb.slice(0, VERB_MAX), error };
    msg.respond(JSON.stringify(envelope("command-reply", this.source, reply)));
  }
}
