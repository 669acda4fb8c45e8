// Every server in a table: what the graph shows, in text, with the situations and reasons.
import type { ServerView } from "../model/servers.js";

export function ServerTable({ servers }: { servers: readonly ServerView[] }) {
  return (
    <section class="card" aria-labelledby="servers-h">
      <h2 id="servers-h">Servers</h2>
      <div class="table-wrap">
        <table class="servers" data-testid="servers">
          <thead>
            <tr>
              <th scope="col">server</th>
              <th scope="col">role</th>
              <th scope="col">read_only</th>
              <th scope="col">GTID</th>
              <th scope="col">lag</th>
              <th scope="col">situation</th>
              <th scope="col">agent</th>
            </tr>
          </thead>
          <tbody>
            {servers.map((s) => (
              <tr key={s.name} data-server={s.name}>
                <th scope="row">
                  {s.name}
                  <div class="sub">{s.address}</div>
                </th>
                <td>
                  <span class={`chip tone-${s.tone}`} data-role={s.role}>
                    {s.role}
                  </span>
                  {s.marks.includes("writer") && <span class="chip outline">writer</span>}
                  {s.sources.length > 0 && (
                    <div class="sub">
                      from{" "}
                      {s.sources
                        .map((x) => `${x.source}${x.state === "ok" ? "" : ` (${x.state})`}`)
                        .join(", ")}
                    </div>
                  )}
                </td>
                <td>{s.readOnly}</td>
                <td class="mono gtid">
                  {s.gtid}
                  {s.extraGtids && <div class="sub danger-text">extra: {s.extraGtids}</div>}
                </td>
                <td class={s.marks.includes("lagging") ? "warn-text" : ""}>{s.lag}</td>
                <td>
                  {s.situations.length ? s.situations.join(", ") : "—"}
                  {s.reason && <div class="sub">{s.reason}</div>}
                </td>
                <td class={`agent-${s.agent.state}`}>{s.agent.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
