#!/usr/bin/env node
// marina-executor --config marina.yaml [--id e1]: serves exec requests until SIGTERM/SIGINT.
import { loadConfigFile } from "@marina/contracts";
import { parseArgs } from "./args.js";
import { startExecutor } from "./index.js";
import { createLogger } from "./logger.js";

async function main(): Promise<void> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger();
  const config = loadConfigFile(args.config);
  const options = {
    ...(args.connectTimeoutMs !== undefined ? { connectTimeoutMs: args.connectTimeoutMs } : {}),
    ...(args.socketTimeoutMs !== undefined ? { socketTimeoutMs: args.socketTimeoutMs } : {}),
  };
  const executor = await startExecutor({
    config,
    id: args.id,
    log,
    options,
    ...(args.nats ? { natsUrl: args.nats } : {}),
  });
  const stop = (signal: string) => {
    log.info({ signal }, "stopping");
    executor.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: (err as Error).message }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`marina-executor: ${(err as Error).message}\n`);
  process.exit(1);
});
