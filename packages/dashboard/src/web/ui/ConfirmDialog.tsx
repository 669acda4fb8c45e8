// The confirmation: the dry-run's plan as the decider computed it (or why it would be
// refused), then — only on "Confirm" — the command itself, and the decider's answer.
import { useEffect, useRef, useState } from "preact/hooks";
import { type Api, ApiError } from "../api.js";
import { apiCommand, describeAction } from "../model/actions.js";
import type { CommandReply } from "../model/api-types.js";
import { planView } from "../model/plan.js";
import type { Review } from "./Actions.js";

interface Props {
  api: Api;
  review: Review;
  /** `sent`: the command itself was sent (accepted or not). */
  onClose: (sent: boolean) => void;
}

function Plan({ review }: { review: Review }) {
  if (!review.report) {
    return (
      <p class="banner danger" role="alert">
        The dry-run failed: {review.error}
      </p>
    );
  }
  const plan = planView(review.report);
  return (
    <div class="plan" data-testid="plan">
      <p class={plan.accepted ? "accepted" : "banner danger"}>
        <strong>{plan.accepted ? "Would be accepted: " : "Would be refused: "}</strong>
        {plan.error ?? plan.headline}
      </p>
      {plan.candidates.length > 0 && (
        <>
          <h3>Candidates</h3>
          <ul class="candidates">
            {plan.candidates.map((c) => (
              <li key={c.server} class={c.chosen ? "chosen" : ""}>
                <strong>{c.server}</strong> {c.rank}
                {c.chosen ? " — chosen" : ""}: {c.reason}
              </li>
            ))}
          </ul>
        </>
      )}
      {plan.phases.length > 0 && <h3>Phases</h3>}
      <ol class="plan-phases">
        {plan.phases.map((p) => {
          const detail = p.steps.flatMap((x) => x.detail.map((d) => `${x.server}: ${d}`));
          return (
            <li key={p.name} data-phase={p.name}>
              <strong>{p.name}</strong>{" "}
              <span class="muted small">
                ({p.when === "now" ? "sent at once" : "planned"}
                {p.deadline ? `, deadline ${p.deadline}` : ""})
              </span>{" "}
              {p.message}
              {p.steps.length > 0 && (
                <ul class="steps">
                  {p.steps.map((x, i) => (
                    <li key={`${x.server}-${i}`}>
                      <strong>{x.server}</strong> {x.text}
                      {x.promotes && <span class="chip tone-fenced">point of no return</span>}
                    </li>
                  ))}
                </ul>
              )}
              {detail.length > 0 && (
                <details>
                  <summary>SQL and programs ({detail.length})</summary>
                  <pre>{detail.join("\n")}</pre>
                </details>
              )}
            </li>
          );
        })}
      </ol>
      {plan.undo.length > 0 && (
        <ul class="small">
          {plan.undo.map((u) => (
            <li key={u}>{u}</li>
          ))}
        </ul>
      )}
      {plan.events.length > 0 && (
        <ul class="small">
          {plan.events.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      )}
      {plan.end && <p class="small">Ends: {plan.end}</p>}
      {plan.assumptions.length > 0 && (
        <details>
          <summary>Assumptions ({plan.assumptions.length})</summary>
          <ul class="small">
            {plan.assumptions.map((a) => (
              <li key={a}>{a}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

export function ConfirmDialog({ api, review, onClose }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const back = useRef<HTMLButtonElement>(null);
  const [sending, setSending] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    // "Back", not "Confirm", has the focus: Enter alone never sends a command.
    back.current?.focus();
  }, []);
  const title = describeAction(review.request);
  const accepted = review.report?.outcome === "accepted";

  const send = async () => {
    const cmd = apiCommand(review.request);
    if ("error" in cmd) return;
    setSending(true);
    try {
      const r: CommandReply = await api.command(cmd, false);
      setResult(
        r.ok
          ? { ok: true, text: `${r.message}${r.opId ? ` (${r.opId})` : ""}` }
          : { ok: false, text: `${r.error.code}: ${r.error.message}` },
      );
    } catch (err) {
      setResult({
        ok: false,
        text: err instanceof ApiError ? `${err.code}: ${err.message}` : String(err),
      });
    } finally {
      setSending(false);
    }
  };

  return (
    <dialog
      ref={ref}
      class="confirm"
      aria-labelledby="confirm-h"
      onClose={() => onClose(result !== null)}
    >
      <h2 id="confirm-h">{title}</h2>
      <div class="dialog-body">
        {!result && <Plan review={review} />}
        {result && (
          <p class={result.ok ? "banner ok" : "banner danger"} role="status" data-testid="result">
            {result.ok ? "Sent: " : "Refused: "}
            {result.text}
          </p>
        )}
      </div>
      <div class="buttons">
        {!result && (
          <button
            type="button"
            class="primary-button"
            disabled={!accepted || sending}
            onClick={() => void send()}
            data-testid="confirm"
          >
            {sending ? "Sending…" : `Confirm: ${title}`}
          </button>
        )}
        <button type="button" ref={back} onClick={() => ref.current?.close()}>
          {result ? "Close" : "Back"}
        </button>
      </div>
    </dialog>
  );
}
