import type { Command, CommandPayload, CommandReply } from "@marina/contracts/commands";
import type { Env } from "../plans/common.js";

export type CommandVerb = Command["verb"];

/** One command as its handler gets it: checked against the knowledge, answered at once. */
export interface CommandCall<V extends CommandVerb> {
  env: Env;
  requestId: string;
  verb: V;
  payload: CommandPayload<V>;
}

export type CommandHandler<V extends CommandVerb> = (c: CommandCall<V>) => CommandReply;
