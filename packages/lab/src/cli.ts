#!/usr/bin/env node
// marina-lab: bring a lab up in the foreground, show how to reach it and its live GTID
// positions, tear it down on Ctrl-C (or `down` from another terminal).
import { existsSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connectionHelp } from "./connection-help.js";
import { describeError } from "./errors.js";
import { type Lab, startLab } from "./lab.js";
import { isLabShape, LAB_SHAPES, LabShape } from "./topology-plan.js";
import { sleep } from "./wait.js";
import { watchPositions } from "./watch.js";

const STATE_FILE = join(tmpdir(), "marina-lab.cli.json");

const USAGE = `usage:
  marina-lab up [--shape ${LAB_SHAPES.join("|")}] [--nodes N] [--semi-sync]
                [--hosts] [--no-nats] [--keep] [--interval MS] [--json]
  marina-lab down      stop the lab started by \`up\` (same as Ctrl-C there)
  marina-lab help`;

async function up(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      shape: { type: "string", default: LabShape.PrimaryReplicas },
      nodes: { type: "string" },
      "semi-sync": { type: "boolean", default: false },
      hosts: { type: "boolean", default: false },
      "no-nats": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      interval: { type: "string", default: "1000" },
      json: { type: "boolean", default: false },
    },
  });
  if (!isLabShape(values.shape)) {
    process.stderr.write(`unknown shape ${values.shape}\n${USAGE}\n`);
    return 2;
  }
  const started = Date.now();
  process.stderr.write(`starting ${values.shape} lab…\n`);
  // Register before starting so Ctrl-C during start still tears down what exists.
  let lab: Lab | undefined;
  let stopping = false;
  let release: () => void = () => {};
  const finished = new Promise<void>((r) => {
    release = r;
  });
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    release();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);

  try {
    lab = await startLab({
      shape: values.shape,
      ...(values.nodes ? { nodes: Number(values.nodes) } : {}),
      semiSync: values["semi-sync"],
      hosts: values.hosts,
      nats: !values["no-nats"],
      keep: values.keep,
    });
  } catch (err) {
    process.stderr.write(`lab failed to start: ${describeError(err)}\n`);
    return 1;
  }
  const info = lab.info();
  await writeFile(STATE_FILE, JSON.stringify({ pid: process.pid, dir: lab.dir }));
  process.stdout.write(values.json ? `${JSON.stringify(info)}\n` : `${connectionHelp(info)}\n`);
  process.stdout.write(
    `up in ${Date.now() - started} ms. Ctrl-C (or \`marina-lab down\`) tears it down.\n\n`,
  );

  let drawn = 0;
  const tty = process.stdout.isTTY === true;
  const watcher = stopping
    ? undefined
    : watchPositions(
        lab,
        (block) => {
          // On a terminal, redraw the block in place; otherwise append (logs, pipes).
          if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
          process.stdout.write(`${block}\n`);
          drawn = block.split("\n").length;
        },
        { intervalMs: Number(values.interval) || 1000 },
      );

  await finished;
  process.stderr.write("\ntearing down…\n");
  await watcher?.stop();
  await lab.close();
  await rm(STATE_FILE, { force: true });
  process.stderr.write("lab closed\n");
  return 0;
}

async function down(): Promise<number> {
  if (!existsSync(STATE_FILE)) {
    process.stderr.write("no lab is up (no state file)\n");
    return 1;
  }
  const state = JSON.parse(readFileSync(STATE_FILE, "utf8")) as { pid: number; dir: string };
  try {
    process.kill(state.pid, "SIGTERM");
  } catch {
    process.stderr.write(`lab process ${state.pid} is gone; removing stale state\n`);
    await rm(STATE_FILE, { force: true });
    return 0;
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(state.pid, 0);
    } catch {
      process.stderr.write(`lab ${state.dir} is down\n`);
      return 0;
    }
    await sleep(100);
  }
  process.stderr.write(`lab process ${state.pid} did not exit in 30 s\n`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "up":
      return up(rest);
    case "down":
      return down();
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command ${cmd}\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${describeError(err)}\n`);
    process.exit(1);
  },
);
