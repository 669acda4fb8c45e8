// The actions the page offers, and the API request each becomes: the path under the
// cluster and the command's bare payload (docs/http-api.md, "Commands").

export const ActionVerbs = [
  "switchover",
  "set-maintenance",
  "clear-maintenance",
  "rejoin",
  "flashback",
  "rebuild",
  "cancel",
  "pause",
  "resume",
] as const;

export type ActionVerb = (typeof ActionVerbs)[number];

export interface ActionRequest {
  readonly verb: ActionVerb;
  /** The target (switchover: optional; maintenance, rejoin, flashback, rebuild: required). */
  readonly server?: string;
  /** A rebuild's donor (optional: the decider chooses). */
  readonly source?: string;
  /** The operation to cancel. */
  readonly opId?: string;
  readonly reason?: string;
}

export interface ApiCommand {
  /** Relative to `/clusters/<c>/`. */
  readonly path: string;
  readonly body: Record<string, unknown>;
}

export const ACTION_LABELS = {
  switchover: "Switchover",
  "set-maintenance": "Set maintenance",
  "clear-maintenance": "Clear maintenance",
  rejoin: "Rejoin",
  flashback: "Flashback",
  rebuild: "Rebuild",
  cancel: "Cancel operation",
  pause: "Pause automation",
  resume: "Resume automation",
} as const satisfies Record<ActionVerb, string>;

/** Which field the verb needs: a server (required or not), an operation, or nothing. */
export const ACTION_TARGET = {
  switchover: "optional-server",
  "set-maintenance": "server",
  "clear-maintenance": "server",
  rejoin: "server",
  flashback: "server",
  rebuild: "server",
  cancel: "operation",
  pause: "none",
  resume: "none",
} as const satisfies Record<ActionVerb, "server" | "optional-server" | "operation" | "none">;

/** The request, or why it cannot be sent yet. */
export function apiCommand(a: ActionRequest): ApiCommand | { readonly error: string } {
  const reason = a.reason?.trim() ? { reason: a.reason.trim() } : {};
  const need = ACTION_TARGET[a.verb];
  if (need === "server" && !a.server) return { error: `${ACTION_LABELS[a.verb]} needs a server` };
  if (need === "operation" && !a.opId) return { error: "no operation is running" };
  switch (a.verb) {
    case "switchover":
      return {
        path: "commands/switchover",
        body: { ...(a.server ? { target: a.server } : {}), ...reason },
      };
    case "set-maintenance":
    case "clear-maintenance":
    case "rejoin":
    case "flashback":
      return { path: `commands/${a.verb}`, body: { server: a.server, ...reason } };
    case "rebuild":
      return {
        path: "commands/rebuild",
        body: { target: a.server, ...(a.source ? { source: a.source } : {}), ...reason },
      };
    case "cancel":
      return { path: `operations/${encodeURIComponent(a.opId ?? "")}/cancel`, body: reason };
    case "pause":
    case "resume":
      return { path: `commands/${a.verb}`, body: reason };
    default: {
      const never: never = a.verb;
      return never;
    }
  }
}

/** "switchover to db2", for the dialog's title and button. */
export function describeAction(a: ActionRequest): string {
  const label = ACTION_LABELS[a.verb];
  switch (ACTION_TARGET[a.verb]) {
    case "optional-server":
      return a.server ? `${label} to ${a.server}` : `${label} (best candidate)`;
    case "server":
      return `${label}: ${a.server ?? "?"}${a.source ? ` from ${a.source}` : ""}`;
    case "operation":
      return `${label} ${a.opId ?? ""}`.trim();
    case "none":
      return label;
  }
}
