// One command to the deciders: request/reply on `marina.v1.<cluster>.cmd.<verb>`, the reply
// parsed with its schema. A follower forwards to the leader and waits up to 10 s for it, so
// the CLI waits longer than that before it calls the deciders unreachable. The command goes
// in an envelope whose `source` says who sent it (`marina-cli:<user>@<host>`), which the
// deciders keep in the history record of what it starts or is refused.
import { hostname, userInfo } from "node:os";
import {
  type CommandReply,
  CommandReplyMessage,
  type CommandVerb,
  envelope,
  parseMessage,
  subjects,
} from "@marina/contracts";
import { errors, type NatsConnection } from "@nats-io/transport-node";
import { CliError } from "./exit-codes.js";

export const REQUEST_TIMEOUT_MS = 15_000;

export async function requestCommand(
  nc: NatsConnection,
  cluster: string,
  verb: CommandVerb,
  payload: Record<string, unknown>,
  timeoutMs: number = REQUEST_TIMEOUT_MS,
): Promise<CommandReply> {
  const subject = subjects.cmd(cluster, verb);
  let data: Uint8Array;
  try {
    const body = envelope(`cmd.${verb}`, cliSource(), payload);
    const r = await nc.request(subject, JSON.stringify(body), { timeout: timeoutMs });
    data = r.data;
  } catch (err) {
    throw requestError(err, subject, cluster, timeoutMs);
  }
  const reply = parseMessage(CommandReplyMessage, data);
  if (!reply.ok) {
    throw new CliError(
      "BAD_REPLY",
      `the answer on ${subject} is not a Marina command reply: ${reply.error.message}`,
    );
  }
  return reply.value.payload;
}

/** Who sends the command, as the envelope states it: self-declared, for the record only. */
export function cliSource(): string {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for this uid (a container): the host still tells something.
  }
  return `marina-cli:${user}@${hostname()}`.slice(0, 200);
}

function requestError(err: unknown, subject: string, cluster: string, timeoutMs: number): CliError {
  const noResponders =
    err instanceof errors.NoRespondersError ||
    (err instanceof errors.RequestError && err.isNoResponders());
  if (noResponders) {
    return new CliError(
      "NO_DECIDER",
      `no decider listens on ${subject}: is Marina running, and is ${cluster} one of its clusters?`,
      { cause: err },
    );
  }
  if (err instanceof errors.PermissionViolationError) {
    return new CliError("NATS_DENIED", `NATS does not let this user publish to ${subject}`, {
      cause: err,
    });
  }
  if (
    err instanceof errors.TimeoutError ||
    (err instanceof Error && /timeout/i.test(err.message))
  ) {
    return new CliError("NO_DECIDER", `no answer on ${subject} within ${timeoutMs / 1000} s`, {
      cause: err,
    });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new CliError("NATS_UNREACHABLE", `${subject}: ${reason}`, { cause: err });
}
