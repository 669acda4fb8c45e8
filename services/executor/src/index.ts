// Public entry of @marina/executor: start an executor in-process, or build its app.
export type { AppDeps, ExecutorApp } from "./app.js";
export { buildApp, QUEUE_GROUP } from "./app.js";
export type { Clock } from "./clock.js";
export type { Connector, DbTarget, Session } from "./db.js";
export { connectSession } from "./db.js";
export type { ExecutorOptions } from "./handler.js";
export { DEFAULT_OPTIONS, handleExecRequest } from "./handler.js";
export { ExecutorMetrics, type StepOutcome } from "./metrics.js";
export { type RunningExecutor, type StartExecutorOptions, startExecutor } from "./start.js";
