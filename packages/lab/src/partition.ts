// Partitions of a lab network as iptables DROP rules: which namespace, which chain, which
// match. Pure; netns.ts applies them. Never a rule in the root namespace.
import { LabError, LabErrorCode } from "./errors.js";
import { HOST_LINK } from "./netns-names.js";

/**
 * The root namespace as a partition endpoint: the test process and the Marina services
 * running in it (it reaches the lab network at `net.rootAddress`). Not a valid host name.
 */
export const ROOT = "@root";
export type Root = typeof ROOT;

/**
 * Where partition rules live.
 * - `switch`: FORWARD rules in the switch namespace (the bridge hands frames to iptables,
 *   br_netfilter): packets vanish on the wire, both ends see silence.
 * - `hosts`: INPUT/OUTPUT rules in the hosts' namespaces. Packets to a host are dropped on
 *   arrival; packets to the root namespace are dropped on leaving the host (its sender
 *   then gets EPERM rather than silence).
 */
export const PartitionAt = { Switch: "switch", Hosts: "hosts" } as const;
export type PartitionAt = (typeof PartitionAt)[keyof typeof PartitionAt];

/** A resolved endpoint: its namespace (undefined = the root namespace) and its address. */
export interface Endpoint {
  readonly name: string;
  readonly ns: string | undefined;
  readonly address: string;
}

export interface DropRule {
  readonly ns: string;
  readonly chain: "FORWARD" | "INPUT" | "OUTPUT";
  readonly match: readonly string[];
}

export interface RulePlace {
  readonly at: PartitionAt;
  readonly switchNs: string;
}

/** Packets from `from` to `to` are dropped. */
export function oneWayRules(place: RulePlace, from: Endpoint, to: Endpoint): DropRule[] {
  if (from.address === to.address) {
    throw new LabError(LabErrorCode.BadOptions, `cannot cut ${from.name} from itself`);
  }
  switch (place.at) {
    case PartitionAt.Switch:
      return [
        { ns: place.switchNs, chain: "FORWARD", match: ["-s", from.address, "-d", to.address] },
      ];
    case PartitionAt.Hosts:
      if (to.ns !== undefined) return [{ ns: to.ns, chain: "INPUT", match: ["-s", from.address] }];
      if (from.ns !== undefined) {
        return [{ ns: from.ns, chain: "OUTPUT", match: ["-d", to.address] }];
      }
      throw new LabError(LabErrorCode.BadOptions, "no lab namespace to hold the rule");
    default:
      return assertNever(place.at);
  }
}

/** Every packet to or from `host` over the network is dropped; its loopback stays. */
export function isolateRules(place: RulePlace, host: Endpoint): DropRule[] {
  if (host.ns === undefined) {
    throw new LabError(
      LabErrorCode.BadOptions,
      "the root namespace cannot be isolated (no rule ever goes there): cut(ROOT, hosts)",
    );
  }
  switch (place.at) {
    case PartitionAt.Switch:
      return [
        { ns: place.switchNs, chain: "FORWARD", match: ["-s", host.address] },
        { ns: place.switchNs, chain: "FORWARD", match: ["-d", host.address] },
      ];
    case PartitionAt.Hosts:
      return [
        { ns: host.ns, chain: "INPUT", match: ["-i", HOST_LINK] },
        { ns: host.ns, chain: "OUTPUT", match: ["-o", HOST_LINK] },
      ];
    default:
      return assertNever(place.at);
  }
}

/**
 * Packets from every endpoint of `from` to every endpoint of `to` are dropped, and back
 * unless `oneWay`. The two groups must not overlap.
 */
export function cutRules(
  place: RulePlace,
  from: readonly Endpoint[],
  to: readonly Endpoint[],
  oneWay: boolean,
): DropRule[] {
  if (from.length === 0 || to.length === 0) {
    throw new LabError(LabErrorCode.BadOptions, "a cut needs an endpoint on each side");
  }
  const overlap = from.filter((a) => to.some((b) => b.address === a.address));
  if (overlap.length > 0) {
    const names = overlap.map((e) => e.name).join(", ");
    throw new LabError(LabErrorCode.BadOptions, `${names} on both sides of a cut`);
  }
  const rules: DropRule[] = [];
  for (const a of from) {
    for (const b of to) {
      rules.push(...oneWayRules(place, a, b));
      if (!oneWay) rules.push(...oneWayRules(place, b, a));
    }
  }
  return dedupeRules(rules);
}

export function dedupeRules(rules: readonly DropRule[]): DropRule[] {
  const seen = new Set<string>();
  return rules.filter((r) => {
    const key = `${r.ns} ${r.chain} ${r.match.join(" ")}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The rule as iptables arguments after `-A`/`-D` (`comment` tags it as the lab's). */
export function ruleSpec(rule: DropRule, comment: string): string[] {
  return [rule.chain, ...rule.match, "-m", "comment", "--comment", comment, "-j", "DROP"];
}

/** An `iptables-restore --noflush` input adding (-A) or deleting (-D) `rules` at once. */
export function restoreScript(
  rules: readonly DropRule[],
  op: "-A" | "-D",
  comment: string,
): string {
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(comment)) {
    throw new LabError(LabErrorCode.BadOptions, `bad rule comment ${JSON.stringify(comment)}`);
  }
  const lines = rules.map((r) => [op, ...ruleSpec(r, comment)].join(" "));
  return ["*filter", ...lines, "COMMIT", ""].join("\n");
}

/** Rules grouped by the namespace they live in (one iptables-restore per namespace). */
export function rulesByNamespace(rules: readonly DropRule[]): Map<string, DropRule[]> {
  const out = new Map<string, DropRule[]>();
  for (const r of rules) {
    const list = out.get(r.ns) ?? [];
    list.push(r);
    out.set(r.ns, list);
  }
  return out;
}

function assertNever(x: never): never {
  throw new LabError(LabErrorCode.BadOptions, `unknown partition place ${String(x)}`);
}
