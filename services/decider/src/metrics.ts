// Every metric the decider exports (docs/metrics.md), in a registry of its own: counters
// fed by the edge as it carries out the core's actions and answers commands, gauges read
// from the clusters' state at every scrape. Only a cluster's acting leader reports its
// situations, operation and pause: a follower's copy of the state is not kept current.
import {
  type ClusterEvent,
  CommandVerbs,
  OperationKind,
  type OperationRecord,
  situationList,
} from "@marina/contracts";
import { type DeciderState, situationOfTag } from "@marina/decider-core";
import {
  Counter,
  Gauge,
  Histogram,
  metricsRegistry,
  type Registry,
  type RegistryOptions,
} from "@marina/runtime";

/** One cluster as the scrape sees it. */
export interface ClusterView {
  readonly cluster: string;
  /** This decider holds the cluster's lease and has taken its state over. */
  readonly acting: boolean;
  readonly state: DeciderState;
}

/** Failovers and switchovers take seconds; rejoins and rebuilds up to hours (+Inf). */
export const OPERATION_BUCKETS = [
  0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 120, 300, 900, 3600,
];

export class DeciderMetrics {
  readonly registry: Registry;
  readonly operations: Counter<"cluster" | "kind" | "result">;
  readonly operationDuration: Histogram<"cluster" | "kind" | "result">;
  readonly situationEvents: Counter<"cluster" | "situation">;
  readonly commands: Counter<"cluster" | "verb" | "outcome">;

  constructor(clusters: () => Iterable<ClusterView>, o: RegistryOptions = {}) {
    this.registry = metricsRegistry(o);
    const registers = [this.registry];
    this.operations = new Counter({
      name: "marina_decider_operations_total",
      help: "Operations finished, by kind and result (succeeded, failed, cancelled; refused: the command was refused, nothing ran).",
      labelNames: ["cluster", "kind", "result"],
      registers,
    });
    this.operationDuration = new Histogram({
      name: "marina_decider_operation_duration_seconds",
      help: "Start to end of the operations that ran, by kind and result.",
      labelNames: ["cluster", "kind", "result"],
      buckets: OPERATION_BUCKETS,
      registers,
    });
    this.situationEvents = new Counter({
      name: "marina_decider_situation_events_total",
      help: "Situation events published (a situation newly diagnosed on a server or the cluster).",
      labelNames: ["cluster", "situation"],
      registers,
    });
    this.commands = new Counter({
      name: "marina_decider_commands_total",
      help: "Commands this decider answered, by verb and outcome (ok, or the error code).",
      labelNames: ["cluster", "verb", "outcome"],
      registers,
    });
    new Gauge({
      name: "marina_decider_leader",
      help: "1 while this decider holds the cluster's lease and acts on it, else 0.",
      labelNames: ["cluster"],
      registers,
      collect() {
        for (const c of clusters()) this.set({ cluster: c.cluster }, c.acting ? 1 : 0);
      },
    });
    new Gauge({
      name: "marina_decider_paused",
      help: "1 while the cluster's automation is paused (cmd.pause), else 0; the acting leader only.",
      labelNames: ["cluster"],
      registers,
      collect() {
        this.reset();
        for (const c of clusters()) {
          if (c.acting) this.set({ cluster: c.cluster }, c.state.paused ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: "marina_decider_operation_running",
      help: "1 for the kind of the operation running in the cluster (0 for the others); the acting leader only.",
      labelNames: ["cluster", "kind"],
      registers,
      collect() {
        this.reset();
        for (const c of clusters()) {
          if (!c.acting) continue;
          for (const kind of OperationKind.options) {
            this.set({ cluster: c.cluster, kind }, c.state.operation?.kind === kind ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: "marina_decider_situation",
      help: "Servers (or the cluster itself) the situation is active for now; the acting leader only.",
      labelNames: ["cluster", "situation"],
      registers,
      collect() {
        this.reset();
        for (const c of clusters()) {
          if (!c.acting) continue;
          const counts = new Map<string, number>(situationList.map((s) => [s, 0]));
          for (const tags of Object.values(c.state.situations)) {
            // One count per subject: FailoverBlocked may be active with several codes.
            for (const s of new Set(tags.map(situationOfTag))) {
              counts.set(s, (counts.get(s) ?? 0) + 1);
            }
          }
          for (const [situation, n] of counts) this.set({ cluster: c.cluster, situation }, n);
        }
      },
    });
  }

  /** A finished (or refused) operation's record, as it goes to the history stream. */
  operationEnded(r: OperationRecord): void {
    const labels = { cluster: r.cluster, kind: r.kind, result: r.outcome };
    this.operations.inc(labels);
    if (r.outcome !== "refused") this.operationDuration.observe(labels, r.durationMs / 1000);
  }

  situation(e: ClusterEvent): void {
    this.situationEvents.inc({ cluster: e.cluster, situation: e.situation });
  }

  /** A command answered; a verb this release does not know counts as `unknown`. */
  command(cluster: string, verb: string, outcome: string): void {
    const known = (CommandVerbs as readonly string[]).includes(verb) ? verb : "unknown";
    this.commands.inc({ cluster, verb: known, outcome });
  }
}
