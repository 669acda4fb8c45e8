// The actions: pick one, and its server where it needs one; "Review plan" sends it as a
// dry-run and shows what the decider would do (ConfirmDialog); only the confirmation there
// sends the command itself.
import { useState } from "preact/hooks";
import { type Api, ApiError } from "../api.js";
import {
  ACTION_LABELS,
  ACTION_TARGET,
  type ActionRequest,
  type ActionVerb,
  ActionVerbs,
  apiCommand,
} from "../model/actions.js";
import type { DryRunReport } from "../model/api-types.js";
import type { ServerView } from "../model/servers.js";
import { ConfirmDialog } from "./ConfirmDialog.js";

interface Props {
  api: Api;
  servers: readonly ServerView[];
  primary: string | null;
  running: string | null;
  paused: boolean;
  canSend: boolean;
}

export interface Review {
  readonly request: ActionRequest;
  readonly report: DryRunReport | null;
  readonly error: string | null;
}

function available(verb: ActionVerb, running: string | null, paused: boolean): boolean {
  if (verb === "cancel") return running !== null;
  if (verb === "pause") return !paused;
  if (verb === "resume") return paused;
  return true;
}

export function Actions({ api, servers, primary, running, paused, canSend }: Props) {
  const [verb, setVerb] = useState<ActionVerb>("switchover");
  const [server, setServer] = useState("");
  const [source, setSource] = useState("");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [review, setReview] = useState<Review | null>(null);
  const need = ACTION_TARGET[verb];
  const verbs = ActionVerbs.filter((v) => available(v, running, paused));
  const current = verbs.includes(verb) ? verb : "switchover";
  // A switchover's target is a running replica; the dry-run says whether it qualifies.
  const targets =
    current === "switchover"
      ? servers.filter((s) => s.name !== primary && s.role !== "down")
      : servers;
  // A choice that is no longer offered (the target became the primary) is no choice.
  const chosen = targets.some((s) => s.name === server) ? server : "";

  const request: ActionRequest = {
    verb: current,
    ...(chosen && need !== "none" && need !== "operation" ? { server: chosen } : {}),
    ...(source && current === "rebuild" ? { source } : {}),
    ...(current === "cancel" && running ? { opId: running } : {}),
    ...(reason ? { reason } : {}),
  };
  const cmd = apiCommand(request);

  const reviewPlan = async () => {
    if ("error" in cmd) return;
    setBusy(true);
    try {
      const reply = await api.command(cmd, true);
      setReview({
        request,
        report: reply.ok ? (reply.dryRun ?? null) : null,
        error: reply.ok ? null : reply.error.message,
      });
    } catch (err) {
      setReview({
        request,
        report: null,
        error: err instanceof ApiError ? `${err.code}: ${err.message}` : String(err),
      });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="actions-h">
      <h2 id="actions-h">Actions</h2>
      <form
        class="actions"
        onSubmit={(e) => {
          e.preventDefault();
          void reviewPlan();
        }}
      >
        <label for="action-verb">Action</label>
        <select
          id="action-verb"
          value={current}
          onChange={(e) => setVerb((e.target as HTMLSelectElement).value as ActionVerb)}
        >
          {verbs.map((v) => (
            <option key={v} value={v}>
              {ACTION_LABELS[v]}
            </option>
          ))}
        </select>
        {(need === "server" || need === "optional-server") && (
          <>
            <label for="action-server">{current === "switchover" ? "Target" : "Server"}</label>
            <select
              id="action-server"
              value={chosen}
              onChange={(e) => setServer((e.target as HTMLSelectElement).value)}
            >
              <option value="">{need === "optional-server" ? "best candidate" : "choose…"}</option>
              {targets.map((s) => (
                <option key={s.name} value={s.name}>
                  {s.name} ({s.role})
                </option>
              ))}
            </select>
          </>
        )}
        {current === "rebuild" && (
          <>
            <label for="action-source">Donor</label>
            <select
              id="action-source"
              value={source}
              onChange={(e) => setSource((e.target as HTMLSelectElement).value)}
            >
              <option value="">Marina chooses</option>
              {servers
                .filter((s) => s.name !== chosen)
                .map((s) => (
                  <option key={s.name} value={s.name}>
                    {s.name} ({s.role})
                  </option>
                ))}
            </select>
          </>
        )}
        {current === "cancel" && <p class="small">Cancels {running}.</p>}
        <label for="action-reason">Reason</label>
        <input
          id="action-reason"
          type="text"
          placeholder="for the history (optional)"
          value={reason}
          onInput={(e) => setReason((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={!canSend || busy || "error" in cmd}>
          {busy ? "Asking for the plan…" : "Review plan…"}
        </button>
        <p class="small muted">
          {!canSend
            ? "Give an API token first."
            : "error" in cmd
              ? cmd.error
              : "Shows the dry-run's plan first; nothing is sent until you confirm."}
        </p>
      </form>
      {review && (
        <ConfirmDialog
          api={api}
          review={review}
          onClose={(sent) => {
            setReview(null);
            // A command sent: the next one starts from a clean form.
            if (sent) {
              setServer("");
              setSource("");
              setReason("");
            }
          }}
        />
      )}
    </section>
  );
}
