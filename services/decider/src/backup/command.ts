// backup, backups, restore-backup and prune-backups as the decider service takes them: through the server's
// agent (a restore also re-attaches connections through other clusters' executors), beside
// the cores like provision-replica. Checks here, decisions in decider-core's backup/.
import {
  type AgentAction,
  type BackupManifest,
  type CommandPayload,
  type CommandReply,
  replicationAddressOf,
} from "@marina/contracts";
import {
  backupAcceptedReport,
  checkRestore,
  primaryIn,
  provisionRefusedReport,
  type RestoreInput,
  restoreAcceptedReport,
} from "@marina/decider-core";
import { dryReply } from "../provision/command.js";
import { besideBusy, clusterConfig, type ProvisionDeps } from "../provision/context.js";
import {
  checkOnItsAgent,
  checkServer,
  clustersListing,
  type Refusal,
  readManifests,
  refuse,
  wrongCluster,
} from "./intake.js";
import { prune } from "./prune.js";
import { agentLimitMs, primariesNow, runBackup, runRestore } from "./run.js";

export type BackupVerb = "backup" | "backups" | "restore-backup" | "prune-backups";
export type BackupCommand = {
  [V in BackupVerb]: { verb: V; payload: CommandPayload<V> };
}[BackupVerb];

const OP_PREFIX = {
  backup: "backup",
  backups: "backup",
  "restore-backup": "restore",
  "prune-backups": "prune",
} as const satisfies Record<BackupVerb, string>;

export type BackupHandler = (home: string, c: BackupCommand) => Promise<CommandReply>;

export function backupHandler(d: ProvisionDeps): BackupHandler {
  let n = 0;
  return async (home, c) => {
    n += 1;
    const opId = `${OP_PREFIX[c.verb]}-${d.now().toString(36)}-${n.toString(36)}`;
    const reply = (r: Refusal | { ok: true; reply: CommandReply }): CommandReply => {
      if (r.ok) return r.reply;
      if ("dryRun" in c.payload && c.payload.dryRun) {
        return dryReply(provisionRefusedReport(r.error, c.verb), c.verb);
      }
      return { ok: false, verb: c.verb, error: r.error };
    };
    switch (c.verb) {
      case "backups":
        return reply(await listing(d, home, c.payload));
      case "backup":
      case "restore-backup":
      case "prune-backups": {
        const server = c.payload.server;
        // A prune runs beside no other operation's maintenance: a failed backup or restore
        // may still need its backups.
        const busy = besideBusy(d, server, c.verb === "prune-backups" ? [] : ["backup", "restore"]);
        if (busy) return reply({ ok: false, error: busy });
        // One lock per server, shared with provision-replica: held until the run ends.
        d.busy.set(server, c.verb);
        const done = () => d.busy.delete(server);
        let started = false;
        try {
          const r =
            c.verb === "backup"
              ? await backup(d, home, opId, c.payload, done)
              : c.verb === "restore-backup"
                ? await restore(d, home, opId, c.payload, done)
                : await prune(d, home, opId, c.payload, done);
          started = r.ok && !c.payload.dryRun;
          return reply(r);
        } finally {
          if (!started) done();
        }
      }
      default: {
        const never: never = c;
        throw new Error(`unhandled ${JSON.stringify(never)}`);
      }
    }
  };
}

async function listing(d: ProvisionDeps, home: string, p: CommandPayload<"backups">) {
  const cfg = clusterConfig(d, home);
  if (p.server !== undefined && !cfg?.servers.some((s) => s.name === p.server)) {
    return refuse("UNKNOWN_SERVER", `${p.server} is not a server of cluster ${home}`, "server");
  }
  const servers = (cfg?.servers ?? []).filter(
    (s) => s.agentHost && (p.server === undefined || s.name === p.server),
  );
  if (p.server !== undefined && servers.length === 0) {
    return refuse("NOT_APPLICABLE", `${p.server} has no agentHost: no backups`, "server");
  }
  const backups: BackupManifest[] = [];
  const unread: string[] = [];
  for (const s of servers) {
    const r = await readManifests(d, home, s.agentHost!, s.name);
    if (r.ok) backups.push(...r.manifests);
    else unread.push(`${s.name}: ${r.error.message}`);
  }
  if (p.server !== undefined && unread.length > 0) {
    return refuse("NOT_APPLICABLE", unread.join("; ").slice(0, 4000), "server");
  }
  const message = `${backups.length} backup(s)${unread.length > 0 ? `; not read: ${unread.join("; ")}` : ""}`;
  return {
    ok: true as const,
    reply: {
      ok: true as const,
      verb: "backups",
      message: message.slice(0, 4096),
      data: { backups, unread },
    },
  };
}

async function backup(
  d: ProvisionDeps,
  home: string,
  opId: string,
  p: CommandPayload<"backup">,
  done: () => void,
) {
  const checked = await checkOnItsAgent(d, home, p.server, "backup");
  if (!checked.ok) return checked;
  const clusters = checked.clusters;
  // A primary's backup would stop nothing and restore into a primary: refused.
  const primaryOf = primaryIn(p.server, primariesNow(d, clusters));
  if (primaryOf.length > 0) {
    return refuse(
      "REFUSED",
      `${p.server} is the primary of ${primaryOf.join(", ")}: back up a replica (its backups restore replicas only)`,
      "server",
    );
  }
  // Every configured server a connection may point at: the manifest names its cluster.
  const sources = clusters.flatMap((c) =>
    (clusterConfig(d, c)?.servers ?? []).map((s) => ({
      cluster: c,
      server: s.name,
      ...replicationAddressOf(s),
    })),
  );
  const action: Extract<AgentAction, { action: "take-backup" }> = {
    action: "take-backup",
    server: p.server,
    sources,
    limitMs: agentLimitMs(d),
  };
  const reason = p.reason ?? `backup of ${p.server}`;
  if (p.dryRun) {
    const report = backupAcceptedReport(
      p.server,
      checked.host,
      action,
      reason,
      (c) => clusterConfig(d, c)!,
    );
    return { ok: true as const, reply: dryReply(report, "backup") };
  }
  void runBackup(d, { opId, home, server: p.server, host: checked.host, clusters, action }).finally(
    done,
  );
  return {
    ok: true as const,
    reply: {
      ok: true as const,
      verb: "backup",
      opId,
      message: `backup of ${p.server} started on ${checked.host}`,
    },
  };
}

async function restore(
  d: ProvisionDeps,
  home: string,
  opId: string,
  p: CommandPayload<"restore-backup">,
  done: () => void,
) {
  const listing = clustersListing(d, home, p.server);
  const first = checkServer(d, home, p.server, listing);
  if (!first.ok) return first;
  const read = await readManifests(d, home, first.host, p.server, p.backup);
  if (!read.ok) return read;
  const wrong = wrongCluster(p.server, read.agentCluster, home, "restore-backup");
  if (wrong) return wrong;
  const manifest = read.manifests[0];
  if (!manifest) {
    return refuse("BACKUP_NOT_FOUND", `${p.server} has no backup ${p.backup}`, "backup");
  }
  const named = manifest.connections.flatMap((c) => (c.cluster ? [c.cluster] : []));
  const clusters = [...new Set([...listing, ...named])];
  const input: RestoreInput = {
    server: p.server,
    home,
    host: first.host,
    manifest,
    clusters: Object.fromEntries(
      named.map((c) => [
        c,
        {
          listsServer: clusterConfig(d, c)?.servers.some((s) => s.name === p.server) ?? false,
          primary: d.cluster(c)?.primary() ?? null,
        },
      ]),
    ),
    primaries: primariesNow(d, listing),
    verifyTimeoutMs: 30_000,
    limitMs: agentLimitMs(d),
  };
  // Every cluster a connection follows must be led here too (its executors attach it).
  const led = checkServer(d, home, p.server, clusters);
  if (!led.ok) return led;
  const problems = checkRestore(input);
  if (problems.length > 0) {
    const text = problems.map((x) => `${x.message} [${x.path}]`).join("; ");
    return refuse(
      "RESTORE_CHECK_FAILED",
      `cannot restore ${p.server} from ${p.backup}: ${text}`.slice(0, 4096),
      problems[0]?.path,
    );
  }
  const reason = p.reason ?? `restore ${p.server} from its backup ${p.backup}`;
  if (p.dryRun) {
    const report = restoreAcceptedReport(input, reason, (c) => clusterConfig(d, c)!);
    return { ok: true as const, reply: dryReply(report, "restore-backup") };
  }
  void runRestore(d, { opId, input, clusters, reason, startedAt: d.now() }).finally(done);
  return {
    ok: true as const,
    reply: {
      ok: true as const,
      verb: "restore-backup",
      opId,
      message: `restore of ${p.server} from ${p.backup} started`,
    },
  };
}
