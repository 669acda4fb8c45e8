import { MarinaError } from "@marina/contracts";
import type { Invocation, ToolPaths } from "@marina/hostops";
import { Stage } from "./stage.js";

export interface RunOptions {
  readonly paths: ToolPaths;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
  /** Capture stdout (small outputs only: versions, pids). */
  readonly captureStdout?: boolean;
}

/**
 * Runs one allow-listed program to completion. Rejects with TIMEOUT, CANCELLED or
 * TOOL_FAILED (with the stderr tail); resolves with stdout when asked to capture it.
 */
export async function runProgram(inv: Invocation, o: RunOptions): Promise<string> {
  if (o.signal?.aborted) throw new MarinaError("CANCELLED", `${inv.program}: cancelled`);
  const stage = new Stage(inv, {
    paths: o.paths,
    stdin: "ignore",
    stdout: o.captureStdout ? "pipe" : "ignore",
    dieWithAgent: true,
    ...(o.env ? { env: o.env } : {}),
  });
  let stdout = "";
  stage.child.stdout?.setEncoding("utf8");
  stage.child.stdout?.on("data", (d: string) => {
    if (stdout.length < 1 << 20) stdout += d;
  });
  let why: "timeout" | "cancel" | undefined;
  const stop = (reason: "timeout" | "cancel") => {
    why ??= reason;
    stage.signal("SIGTERM");
    setTimeout(() => stage.signal("SIGKILL"), 3_000).unref();
  };
  const timer = setTimeout(() => stop("timeout"), o.timeoutMs);
  const onAbort = () => stop("cancel");
  o.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const exit = await stage.exited;
    if (why === "cancel") throw new MarinaError("CANCELLED", `${inv.program}: cancelled`);
    if (why === "timeout") {
      throw new MarinaError("TIMEOUT", `${inv.program}: did not finish in ${o.timeoutMs} ms`);
    }
    if (exit.code !== 0) {
      const how = exit.signal ? `signal ${exit.signal}` : `exit ${exit.code}`;
      throw new MarinaError("TOOL_FAILED", `${inv.program} failed (${how}): ${stage.stderrTail()}`);
    }
    return stdout;
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
  }
}
