#!/usr/bin/env node
// marina-nats-config --config marina.yaml --name nats1 --route h1:6222 --route h2:6222
//   --route h3:6222 [--listen h1:4222] [--cluster-listen h1:6222] [--store-dir DIR]
//   [--agent host]... [--http 127.0.0.1:8222] [--env-out nats-server.env]
// Prints one node's nats-server config (see nats-node-config.ts); --env-out also writes a
// new env file with fresh passwords, never over an existing one. A bad flag or config is
// one line on stderr and exit code 2 (@marina/runtime).
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { loadConfigFile, MarinaError } from "@marina/contracts";
import { parseArgs, runMain } from "@marina/runtime";
import { NATS_CONFIG_ARGS } from "./nats-config-args.js";
import { planNatsConfig } from "./nats-config-plan.js";
import { natsSecret } from "./nats-secret.js";

void runMain(NATS_CONFIG_ARGS.program, async () => {
  const argv = process.argv.slice(2);
  const args = parseArgs(NATS_CONFIG_ARGS, argv);
  const config = loadConfigFile(args.config);
  const out = planNatsConfig(args, config, argv, () => natsSecret(randomBytes));
  const envOut = args["env-out"];
  if (envOut !== undefined && out.env !== undefined) {
    try {
      // "wx": a file that exists holds passwords already in use; never replace it.
      writeFileSync(envOut, out.env, { flag: "wx", mode: 0o600 });
    } catch (err) {
      const exists = (err as NodeJS.ErrnoException).code === "EEXIST";
      throw new MarinaError(
        "VALIDATION_FAILED",
        exists
          ? `--env-out: ${envOut} exists; not overwritten (its passwords may be in use)`
          : `--env-out: cannot write ${envOut}: ${(err as Error).message}`,
        { path: "--env-out", cause: err },
      );
    }
    process.stderr.write(`marina-nats-config: wrote ${envOut} (mode 0600)\n`);
  }
  for (const note of out.notes) process.stderr.write(`marina-nats-config: ${note}\n`);
  process.stdout.write(out.config);
});
