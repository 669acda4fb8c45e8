// The page: reads the status (polled), the stream (topology, events, operations, live), the
// history and the writer's stats, and lays out the panels.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Api, ApiError, loadToken, saveToken } from "../api.js";
import type { OperationRecord, Published, StatusData, WriterStats } from "../model/api-types.js";
import { layoutGraph } from "../model/graph.js";
import { operationView } from "../model/operation.js";
import { clusterView } from "../model/servers.js";
import {
  applyHistory,
  applyPublished,
  applyRecentEvents,
  applyStatus,
  applyStatusError,
  applyStream,
  type DashboardState,
  initialState,
} from "../model/state.js";
import { parseWriterStats } from "../model/writer.js";
import type { PageParams } from "../params.js";
import { Actions } from "./Actions.js";
import { Feed } from "./Feed.js";
import { Header } from "./Header.js";
import { HistoryPanel } from "./HistoryPanel.js";
import { OperationPanel } from "./OperationPanel.js";
import { ServerTable } from "./ServerTable.js";
import { TokenForm } from "./TokenForm.js";
import { Topology } from "./Topology.js";
import { WriterPanel } from "./WriterPanel.js";

const STATUS_EVERY_MS = 2000;
const HISTORY_EVERY_MS = 10_000;
const WRITER_EVERY_MS = 1000;

/** Runs `tick` now and every `ms` until the effect is cleaned up; one at a time. */
function usePoll(tick: (() => Promise<void>) | null, ms: number, deps: unknown[]) {
  useEffect(() => {
    if (!tick) return undefined;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      await tick().catch(() => {});
      if (!stopped) timer = setTimeout(run, ms);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
}

export function App({ params }: { params: PageParams }) {
  const [token, setToken] = useState(loadToken());
  const tokenRef = useRef(token);
  tokenRef.current = token;
  const [cluster, setCluster] = useState<string | null>(params.cluster);
  const [unauthorized, setUnauthorized] = useState(false);
  const [fatal, setFatal] = useState<string | null>(null);
  const [state, setState] = useState<DashboardState>(initialState);
  const [writer, setWriter] = useState<{ stats: WriterStats | null; error: string | null } | null>(
    null,
  );
  const [now, setNow] = useState(Date.now());

  const api = useMemo(() => (cluster ? new Api(cluster, () => tokenRef.current) : null), [cluster]);
  const denied = (err: unknown) => {
    if (err instanceof ApiError && err.status === 401) setUnauthorized(true);
  };

  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  // Which cluster: the address names it, or the decider's first.
  useEffect(() => {
    if (cluster) return;
    new Api("", () => tokenRef.current)
      .get<{ clusters: { name: string }[] }>("/clusters")
      .then((r) => {
        const first = r.clusters[0]?.name;
        if (first) setCluster(first);
        else setFatal("this decider serves no cluster");
      })
      .catch((err: unknown) => {
        denied(err);
        if (!(err instanceof ApiError && err.status === 401)) setFatal(String(err));
      });
  }, [cluster, token]);

  // The stream: live topology, events, operations.
  useEffect(() => {
    if (!api) return undefined;
    const abort = new AbortController();
    void api.follow(
      (p: Published) => setState((s) => applyPublished(s, p, Date.now())),
      (st) => {
        if (st === "unauthorized") setUnauthorized(true);
        setState((s) => applyStream(s, st));
      },
      abort.signal,
    );
    // What happened before the page connected: the last events and operation messages.
    api
      .read<{ events: Published[] }>("events?all=true&limit=100")
      .then((r) => setState((s) => applyRecentEvents(s, r.events, Date.now())))
      .catch(denied);
    return () => abort.abort();
  }, [api, token]);

  usePoll(
    api &&
      (() =>
        api
          .read<StatusData>("status")
          .then((st) => {
            setUnauthorized(false);
            setState((s) => applyStatus(s, st, Date.now()));
          })
          .catch((err: unknown) => {
            denied(err);
            setState((s) => applyStatusError(s, err instanceof Error ? err.message : String(err)));
          })),
    STATUS_EVERY_MS,
    [api, token],
  );

  // The history: now and then, and as soon as an operation ends.
  const ended = Object.values(state.operations).filter((o) => o.last.state !== "running").length;
  usePoll(
    api &&
      (() =>
        api
          .read<{ records: OperationRecord[] }>("history?limit=20")
          .then((r) => setState((s) => applyHistory(s, r.records)))
          .catch(denied)),
    HISTORY_EVERY_MS,
    [api, token, ended],
  );

  usePoll(
    params.writerUrl
      ? () =>
          fetch(params.writerUrl!, { cache: "no-store" })
            .then((r) => r.json())
            .then((x: unknown) => {
              const stats = parseWriterStats(x);
              setWriter({ stats, error: stats ? null : "not a writer's stats" });
            })
            .catch((err: unknown) =>
              setWriter((w) => ({ stats: w?.stats ?? null, error: String(err) })),
            )
      : null,
    WRITER_EVERY_MS,
    [params.writerUrl],
  );

  const view = clusterView(state.status, state.topology);
  const graph = layoutGraph(view.servers, view.primary);
  const operation = operationView(state, now);
  const changeToken = (t: string) => {
    saveToken(t);
    setToken(t);
    setUnauthorized(false);
  };

  return (
    <>
      <a class="skip" href="#main">
        Skip to the cluster
      </a>
      <Header
        cluster={cluster}
        status={state.status}
        statusError={state.statusError}
        view={view}
        stream={state.stream}
        hasToken={token !== ""}
        onForget={() => changeToken("")}
      />
      <main id="main" tabIndex={-1}>
        {fatal && (
          <p class="banner danger" role="alert">
            {fatal}
          </p>
        )}
        {(unauthorized || token === "") && (
          <TokenForm unauthorized={unauthorized} onSave={changeToken} />
        )}
        <div class="columns">
          <div class="column">
            <Topology graph={graph} view={view} />
            <ServerTable servers={view.servers} />
            <HistoryPanel records={state.history} now={now} />
          </div>
          <div class="column">
            <OperationPanel op={operation} />
            {params.writerUrl && <WriterPanel writer={writer} now={now} url={params.writerUrl} />}
            {api && (
              <Actions
                api={api}
                servers={view.servers}
                primary={view.primary}
                running={operation?.cancellable ? operation.opId : null}
                paused={Boolean(state.status?.paused)}
                canSend={token !== ""}
              />
            )}
            <Feed feed={state.feed} />
          </div>
        </div>
      </main>
    </>
  );
}
