#!/usr/bin/env node
// marinactl — a tiny stand-in for the `nats` CLI (which Debian does not ship):
//   marinactl [--nats URL[,URL…]] [--cluster main] <verb> ['<json body>']   request/reply a command
//   marinactl [--nats URL] [--cluster main] watch                     print topology/events/ops
// The body is sent exactly as typed: Marina validates it and answers with what was wrong.
// NATS credentials come from MARINA_NATS_USER and MARINA_NATS_PASSWORD (never a flag: a
// password on the command line is visible to every user of the host).
import { parseArgs } from "node:util";
import { CommandReplyMessage, CommandVerbs, parseMessage, ROOT } from "@marina/contracts";
import { connect } from "@nats-io/transport-node";
import { formatObserved } from "./format.js";
import { observe } from "./observer.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    nats: { type: "string", default: process.env.MARINA_NATS ?? "nats://127.0.0.1:4222" },
    cluster: { type: "string", default: "main" },
    timeout: { type: "string", default: "60000" },
  },
});

async function main(): Promise<number> {
  const [verb, body = "{}"] = positionals;
  if (!verb) {
    console.error(
      `usage: marinactl [--nats URL] [--cluster C] <${CommandVerbs.join("|")}|watch> ['<json>']`,
    );
    return 2;
  }
  const user = process.env.MARINA_NATS_USER;
  const pass = process.env.MARINA_NATS_PASSWORD;
  const nc = await connect({
    servers: values.nats.split(",").filter(Boolean),
    ...(user ? { user } : {}),
    ...(pass ? { pass } : {}),
  });
  try {
    if (verb === "watch") {
      observe(nc, values.cluster, (o) => console.log(formatObserved(o)));
      await new Promise<void>((resolve) => process.once("SIGINT", resolve));
      return 0;
    }
    const subject = `${ROOT}.${values.cluster}.cmd.${verb}`;
    const r = await nc.request(subject, body, { timeout: Number(values.timeout) });
    const reply = parseMessage(CommandReplyMessage, r.data);
    const text = new TextDecoder().decode(r.data);
    console.log(reply.ok ? JSON.stringify(reply.value.payload, null, 2) : text);
    return reply.ok && reply.value.payload.ok ? 0 : 1;
  } finally {
    await nc.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`marinactl: ${(err as Error).message}`);
    process.exit(1);
  },
);
