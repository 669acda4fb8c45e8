// Every metric the executor exports (docs/metrics.md), in a registry of its own.
import {
  Counter,
  Gauge,
  Histogram,
  metricsRegistry,
  type Registry,
  type RegistryOptions,
} from "@marina/runtime";

/** How one exec request ended, as the handler saw it. */
export type StepOutcome =
  | {
      /** Refused before it ran: malformed, unknown server, or the lease fence said no. */
      readonly stage: "refused";
      readonly cluster: string;
      /** The step kind, when the request could be read that far. */
      readonly step: string | undefined;
      readonly code: string;
      /** Refused by the lease fence (an epoch that is not the current lease's). */
      readonly byFence: boolean;
    }
  | {
      readonly stage: "ran";
      readonly cluster: string;
      readonly server: string;
      readonly step: string;
      /** null: succeeded; else the error code. */
      readonly code: string | null;
      readonly seconds: number;
    };

export class ExecutorMetrics {
  readonly registry: Registry;
  readonly steps: Counter<"cluster" | "step" | "result">;
  readonly stepDuration: Histogram<"cluster" | "step">;
  readonly fenceRefusals: Counter<"cluster">;
  readonly serversFenced: Counter<"cluster" | "server">;
  readonly running: Gauge;

  /** `running` is read at every scrape. */
  constructor(running: () => number = () => 0, o: RegistryOptions = {}) {
    this.registry = metricsRegistry(o);
    const registers = [this.registry];
    this.steps = new Counter({
      name: "marina_executor_steps_total",
      help: "Exec requests answered, by step kind and result (ok, or the error code).",
      labelNames: ["cluster", "step", "result"],
      registers,
    });
    this.stepDuration = new Histogram({
      name: "marina_executor_step_duration_seconds",
      help: "Time from request to result of the steps that ran (succeeded or failed).",
      labelNames: ["cluster", "step"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.fenceRefusals = new Counter({
      name: "marina_executor_fence_refusals_total",
      help: "Requests refused by the lease fence: their epoch was not the current lease's.",
      labelNames: ["cluster"],
      registers,
    });
    this.serversFenced = new Counter({
      name: "marina_executor_servers_fenced_total",
      help: "Fence steps that succeeded (server read-only, writers' connections killed).",
      labelNames: ["cluster", "server"],
      registers,
    });
    this.running = new Gauge({
      name: "marina_executor_steps_running",
      help: "Exec requests being handled now.",
      registers,
      collect() {
        this.set(running());
      },
    });
  }

  record(o: StepOutcome): void {
    const step = o.step ?? "invalid";
    if (o.stage === "refused") {
      this.steps.inc({ cluster: o.cluster, step, result: o.code });
      if (o.byFence) this.fenceRefusals.inc({ cluster: o.cluster });
      return;
    }
    this.steps.inc({ cluster: o.cluster, step, result: o.code ?? "ok" });
    this.stepDuration.observe({ cluster: o.cluster, step }, o.seconds);
    if (o.step === "fence" && o.code === null) {
      this.serversFenced.inc({ cluster: o.cluster, server: o.server });
    }
  }
}
