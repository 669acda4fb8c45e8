// Commands into the core. Every decider takes commands on the cluster's command subject
// (a queue group, so one of them gets each); a follower forwards what it takes to the
// leader's private subject, which only the acting leader subscribes to.
import {
  type Command,
  type CommandPayload,
  type CommandReply,
  type CommandVerb,
  errorBody,
  MarinaError,
  parseCommandWithOrigin,
  QUEUE_GROUPS,
  subjects,
} from "@marina/contracts";
import type { Input } from "@marina/decider-core";
import type { Bus, BusMsg, BusSubscription } from "./bus.js";
import type { PendingReplies } from "./replies.js";

/** How long a follower waits for the leader's answer to a forwarded command. */
export const FORWARD_TIMEOUT_MS = 10_000;

export interface CommandIntakeDeps {
  readonly bus: Bus;
  readonly cluster: string;
  readonly replies: PendingReplies;
  /** True while this decider leads and has taken over the persisted state. */
  acting(): boolean;
  push(input: Input): void;
  /**
   * Commands no single core runs (they span clusters or go through agents): run beside the
   * core — provision-replica (provision/), backup, backups, restore-backup and prune-backups
   * (backup/).
   */
  beside?: (command: BesideCommand) => Promise<CommandReply>;
}

export const BESIDE_VERBS = [
  "provision-replica",
  "backup",
  "backups",
  "restore-backup",
  "prune-backups",
] as const;
type BesideVerb = (typeof BESIDE_VERBS)[number];
export type BesideCommand = {
  [V in BesideVerb]: { verb: V; payload: CommandPayload<V> };
}[BesideVerb];

const isBeside = (c: Command): c is BesideCommand =>
  (BESIDE_VERBS as readonly string[]).includes(c.verb);

export class CommandIntake {
  private sub: BusSubscription | undefined;
  private leaderSub: BusSubscription | undefined;

  constructor(private readonly d: CommandIntakeDeps) {}

  start(): void {
    this.sub = this.d.bus.subscribe(
      subjects.cmdAll(this.d.cluster),
      (msg) => void this.onCommand(msg, false),
      { queue: QUEUE_GROUPS.deciders },
    );
  }

  /** Takes forwarded commands: called once this decider acts as leader. */
  lead(): void {
    this.leaderSub = this.d.bus.subscribe(subjects.leaderCmd(this.d.cluster, "*"), (msg) => {
      void this.onCommand(msg, true);
    });
  }

  follow(): void {
    this.leaderSub?.unsubscribe();
    this.leaderSub = undefined;
  }

  close(): void {
    this.sub?.unsubscribe();
    this.leaderSub?.unsubscribe();
  }

  /**
   * A command from inside this process (the HTTP API), taken exactly as one that came on
   * `cmd.<verb>`: parsed, decided here when leading, else forwarded to the leader. Resolves
   * with the reply's bytes (a `command-reply` envelope); rejects with TIMEOUT when none came
   * within `timeoutMs` (the command may still be carried out).
   */
  submit(verb: CommandVerb, data: string, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new MarinaError("TIMEOUT", `no answer to ${verb} within ${timeoutMs} ms`));
      }, timeoutMs);
      const msg: BusMsg = {
        subject: subjects.cmd(this.d.cluster, verb),
        data: new TextEncoder().encode(data),
        respond: (answer) => {
          clearTimeout(timer);
          resolve(typeof answer === "string" ? new TextEncoder().encode(answer) : answer);
          return true;
        },
      };
      void this.onCommand(msg, false);
    });
  }

  private async onCommand(msg: BusMsg, viaLeaderSubject: boolean): Promise<void> {
    const verb = msg.subject.split(".").pop() ?? "";
    const parsed = parseCommandWithOrigin(verb, msg.data);
    if (!parsed.ok) {
      this.d.replies.refuse(msg, verb, parsed.error);
      return;
    }
    // parseCommand knows the verb, so it is one of CommandVerbs.
    const known = verb as CommandVerb;
    if (!this.d.acting()) {
      // A stale subscription on the leader subject stays silent: the real leader answers.
      if (!viaLeaderSubject) await this.forward(msg, known);
      return;
    }
    const requestId = this.d.replies.hold(msg);
    const command = { verb: known, payload: parsed.value.payload } as Command;
    if (isBeside(command) && this.d.beside) {
      void this.d.beside(command).then(
        (reply) => this.d.replies.answer(requestId, reply),
        (err: Error) =>
          this.d.replies.answer(requestId, {
            ok: false,
            verb: known,
            error: errorBody("INTERNAL", err.message.slice(0, 4000)),
          }),
      );
      return;
    }
    this.d.push({
      kind: "command",
      requestId,
      command,
      origin: parsed.value.origin,
    });
  }

  /** A follower passes the command on and relays the leader's answer. */
  private async forward(msg: BusMsg, verb: CommandVerb): Promise<void> {
    const { bus, cluster } = this.d;
    try {
      const r = await bus.request(subjects.leaderCmd(cluster, verb), msg.data, {
        timeoutMs: FORWARD_TIMEOUT_MS,
      });
      msg.respond(r.data);
    } catch (err) {
      const message = `no decider leads ${cluster} right now: ${(err as Error).message}`;
      this.d.replies.refuse(msg, verb, errorBody("NOT_LEADER", message));
    }
  }
}
