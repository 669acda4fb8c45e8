import { join } from "node:path";
import type { LabInfo } from "./lab.js";

/** How to reach each node and NATS, as printable lines. */
export function connectionHelp(info: LabInfo): string {
  const c = info.credentials;
  const lines = [
    `Marina lab: ${info.shape}, ${info.nodes.length} nodes${info.semiSync ? ", semi-sync" : ""}`,
    `  tree: ${info.dir}   (details: ${join(info.dir, "lab.json")})`,
  ];
  for (const n of info.nodes) {
    const from = n.sources
      .map((s) => (s.connectionName ? `'${s.connectionName}'<-${s.from}` : `<-${s.from}`))
      .join(" ");
    lines.push(
      `  ${n.name} ${n.role.padEnd(7)} ${n.host}:${n.port} server_id=${n.serverId} domain=${n.domainId} pid=${n.pid ?? "-"} ${from}${n.netns ? ` netns=${n.netns}` : ""}`,
      // A container's socket is inside it: root there, or over TCP with this lab's password.
      n.container
        ? `      mariadb -h ${n.host} -P ${n.port} -u ${c.root.user} -p${c.root.password}   # container ${n.container}; replicas reach it at ${n.replicationAddress?.host}:${n.replicationAddress?.port}`
        : `      mariadb --defaults-file=${n.defaultsFile}`,
      `      mariadb -h ${n.host} -P ${n.port} -u ${c.marina.user} -p${c.marina.password}`,
    );
  }
  const primary = info.nodes.find((n) => n.role === "primary");
  if (primary) {
    lines.push(
      `  app writer (non-SUPER): mariadb -h ${primary.host} -P ${primary.port} -u ${c.app.user} -p${c.app.password} ${c.app.database}`,
    );
  }
  lines.push(`  replication user: ${c.repl.user} / ${c.repl.password}`);
  lines.push(
    `  least-privilege accounts: ${c.marina.user} (executors), ${c.monitor.user} / ${c.monitor.password} (monitor), ${c.backup.user} / ${c.backup.password} (agents, socket only); root ${info.backend === "containers" ? "over TCP (above)" : "over the socket"} for anything else`,
  );
  lines.push(info.nats ? `  NATS (JetStream): ${info.nats.urls.join(",")}` : "  NATS: not started");
  return lines.join("\n");
}
