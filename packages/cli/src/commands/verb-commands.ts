// The subcommands that act, one per command verb the decider accepts; the payload is built
// from the arguments and flags and checked before it is sent (payloads.ts).
import type { CommandVerb } from "@marina/contracts";
import { type Command, Option } from "commander";
import type { Context } from "../context.js";
import { parseCount, parseDuration } from "../durations.js";
import { checkedPayload, compressionOf } from "../payloads.js";
import type { Runner } from "./runner.js";
import { verbCommand } from "./verb.js";

interface Common {
  reason?: string;
  wait: boolean;
  dryRun?: boolean;
}

const DRY_RUN = "answer what Marina would do now (the refusal, or the plan), and do nothing";

interface RebuildFlags extends Common {
  source?: string;
  method?: string;
  compression?: string;
  level?: string;
  tls?: boolean;
}

const send = (
  ctx: Context,
  v: CommandVerb,
  fields: Record<string, unknown>,
  o: { wait: boolean; dryRun?: boolean },
) => verbCommand(ctx, v, checkedPayload(v, { ...fields, dryRun: o.dryRun ? true : undefined }), o);

/** `--source c2:app,crm` → `{ cluster: "c2", databases: ["app", "crm"] }`. */
export function sourceOf(text: string): { cluster: string; databases?: string[] } {
  const [cluster = "", dbs] = text.split(":", 2);
  const databases = dbs?.split(",").filter((d) => d !== "");
  return databases && databases.length > 0 ? { cluster, databases } : { cluster };
}

/** `--compression` and `--level` of the streams (rebuild, provision-replica, add-source). */
function withCompression(c: Command): Command {
  return c
    .addOption(
      new Option("--compression <kind>", "compression of the streams").choices([
        "none",
        "pigz",
        "zstd",
      ]),
    )
    .option("--level <n>", "compression level (pigz 1-9, zstd 1-19)");
}

function compressionFrom(o: { compression?: string; level?: string }) {
  const level = o.level === undefined ? undefined : parseCount(o.level, "--level");
  return compressionOf({ compression: o.compression, level });
}

export function addVerbCommands(program: Command, run: Runner): void {
  const verb = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .option("--no-wait", "return once Marina accepted the command")
      .option("--reason <text>", "why (kept with the operation)")
      .option("--dry-run", DRY_RUN);

  verb(
    "failover",
    "fail over to the best replica, or to <target>; refused while the primary is healthy",
  )
    .argument("[target]", "the server to promote")
    .option("--force", "even when the primary looks alive (it is fenced first)")
    .option(
      "--accept-loss",
      "after every server went down: promote even a server lacking what the last primary had (--dry-run names it)",
    )
    .action(
      run(
        (ctx, target: string | undefined, o: Common & { force?: boolean; acceptLoss?: boolean }) =>
          send(
            ctx,
            "failover",
            { target, force: o.force, acceptLoss: o.acceptLoss, reason: o.reason },
            o,
          ),
      ),
    );

  verb("switchover", "planned switchover to the best replica, or to <target>")
    .argument("[target]", "the server to promote")
    .option("--force", "kill the primary's client connections instead of waiting for them")
    .option("--phase-timeout <duration>", "timeout of each phase (Marina's default: 10s)")
    .action(
      run(
        (
          ctx,
          target: string | undefined,
          o: Common & { force?: boolean; phaseTimeout?: string },
        ) => {
          const timeoutMs =
            o.phaseTimeout === undefined
              ? undefined
              : parseDuration(o.phaseTimeout, "--phase-timeout");
          return send(
            ctx,
            "switchover",
            { target, force: o.force, timeoutMs, reason: o.reason },
            o,
          );
        },
      ),
    );

  verb("rejoin", "rejoin a returned server as a replica (when its history is contained)")
    .argument("<server>", "the server")
    .action(
      run((ctx, server: string, o: Common) => send(ctx, "rejoin", { server, reason: o.reason }, o)),
    );

  verb(
    "flashback",
    "undo a diverged server's saved extra transactions (mariadb-binlog --flashback), then rejoin it",
  )
    .argument("<server>", "the diverged server")
    .action(
      run((ctx, server: string, o: Common) =>
        send(ctx, "flashback", { server, reason: o.reason }, o),
      ),
    );

  withCompression(
    verb("rebuild", "rebuild a replica from a healthy server (progress bar while it streams)")
      .argument("<target>", "the server to rebuild")
      .option("--source <server>", "copy from this server (default: Marina's choice)")
      .addOption(
        new Option("--method <method>", "physical (mariadb-backup) or logical (dump)").choices([
          "physical",
          "logical",
        ]),
      ),
  )
    .option("--tls", "encrypt the stream")
    .action(
      run((ctx, target: string, o: RebuildFlags) => {
        const compression = compressionFrom(o);
        const { source, method, tls, reason } = o;
        return send(ctx, "rebuild", { target, source, method, compression, tls, reason }, o);
      }),
    );

  withCompression(
    verb(
      "provision-replica",
      "make <target> a multi-source replica of other clusters' primaries, writes going on (send to the target's cluster)",
    )
      .argument("<target>", "the server to provision")
      .requiredOption(
        "--source <cluster[:db,db]>",
        "a source cluster, with the databases to take (default: all but system schemas); repeat per source",
        (value: string, all: string[] = []) => [...all, value],
      )
      .option("--overwrite", "wipe what the target holds instead of refusing"),
  ).action(
    run(
      (
        ctx,
        target: string,
        o: Common & {
          source: string[];
          overwrite?: boolean;
          compression?: string;
          level?: string;
        },
      ) => {
        const compression = compressionFrom(o);
        const sources = o.source.map(sourceOf);
        return send(
          ctx,
          "provision-replica",
          { target, sources, overwrite: o.overwrite, compression, reason: o.reason },
          o,
        );
      },
    ),
  );

  withCompression(
    verb(
      "add-source",
      "attach one more source cluster to the multi-source replica <target>; its other connections keep replicating (provision-replica mode add)",
    )
      .argument("<target>", "the multi-source replica")
      .requiredOption(
        "--source <cluster[:db,db]>",
        "the source cluster, with the databases to take (default: all but system schemas)",
      ),
  ).action(
    run(
      (
        ctx,
        target: string,
        o: Common & { source: string; compression?: string; level?: string },
      ) => {
        const compression = compressionFrom(o);
        return send(
          ctx,
          "provision-replica",
          { target, mode: "add", sources: [sourceOf(o.source)], compression, reason: o.reason },
          o,
        );
      },
    ),
  );

  verb(
    "remove-source",
    "detach one source cluster from the multi-source replica <target> (RESET SLAVE '<cluster>' ALL); the others untouched (provision-replica mode remove)",
  )
    .argument("<target>", "the multi-source replica")
    .requiredOption("--source <cluster>", "the source cluster whose connection goes")
    .option("--drop-databases", "also drop the databases its connection's filter took")
    .action(
      run((ctx, target: string, o: Common & { source: string; dropDatabases?: boolean }) =>
        send(
          ctx,
          "provision-replica",
          {
            target,
            mode: "remove",
            sources: [{ cluster: o.source }],
            dropDatabases: o.dropDatabases,
            reason: o.reason,
          },
          o,
        ),
      ),
    );

  verb(
    "restart-source",
    "stop and start one source's connection on the multi-source replica <target> and verify it; the others untouched (provision-replica mode restart)",
  )
    .argument("<target>", "the multi-source replica")
    .requiredOption("--source <cluster>", "the source cluster whose connection restarts")
    .action(
      run((ctx, target: string, o: Common & { source: string }) =>
        send(
          ctx,
          "provision-replica",
          { target, mode: "restart", sources: [{ cluster: o.source }], reason: o.reason },
          o,
        ),
      ),
    );

  verb(
    "backup",
    "mariadb-backup of <server> into its host's backupDir, every replication connection's position in its manifest",
  )
    .argument("<server>", "the server to back up (a replica, multi-source included)")
    .action(
      run((ctx, server: string, o: Common) => send(ctx, "backup", { server, reason: o.reason }, o)),
    );

  verb(
    "restore-backup",
    "replace <server>'s data with its backup <id>, then re-attach every connection to its source cluster's primary now",
  )
    .argument("<server>", "the server to restore")
    .argument("<id>", "the backup (marina backups <server>)")
    .action(
      run((ctx, server: string, backup: string, o: Common) =>
        send(ctx, "restore-backup", { server, backup, reason: o.reason }, o),
      ),
    );

  verb("cancel", "cancel a running operation (undone when before promotion)")
    .argument("<opId>", "the operation's id")
    .action(
      run((ctx, opId: string, o: Common) => send(ctx, "cancel", { opId, reason: o.reason }, o)),
    );

  const maintenance = program
    .command("maintenance")
    .description("exclude a server from automatic actions and promotion, or undo it");
  const maintenanceVerbs = [
    ["set", "set-maintenance", "put a server in maintenance"],
    ["clear", "clear-maintenance", "take a server out of maintenance"],
  ] as const;
  for (const [name, v, description] of maintenanceVerbs) {
    maintenance
      .command(name)
      .argument("<server>", "the server")
      .option("--reason <text>", "why (shown with the server)")
      .option("--dry-run", DRY_RUN)
      .description(description)
      .action(
        run((ctx, server: string, o: { reason?: string; dryRun?: boolean }) =>
          send(ctx, v, { server, reason: o.reason }, { wait: false, dryRun: o.dryRun }),
        ),
      );
  }

  program
    .command("reset-failover-limits")
    .description("clear the failover cooldown and the per-window count")
    .option("--reason <text>", "why")
    .option("--dry-run", DRY_RUN)
    .action(
      run((ctx, o: { reason?: string; dryRun?: boolean }) =>
        send(ctx, "reset-failover-limits", { reason: o.reason }, { wait: false, dryRun: o.dryRun }),
      ),
    );
}
