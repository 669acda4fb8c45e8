// Names and addresses of a lab network: pure, so the rules a sweep relies on are unit-tested.
import { LabError, LabErrorCode } from "./errors.js";

/**
 * Every namespace and root-side link a lab network makes starts with this tag, followed by
 * the network's index N: namespaces `mlab-<N>-<host>` and `mlab-<N>-sw`, the root side
 * of the root veth `mlab<N>r`. That is how a later run finds what a killed one left.
 */
export const NETNS_TAG = "mlab";

/** Lab networks are 10.231.N.0/24; the host's own network is elsewhere (192.0.2.0/24). */
export const SUBNET_PREFIX = "10.231";

/** Usable network indexes (N of 10.231.N.0/24). */
export const MIN_NETWORK_INDEX = 1;
export const MAX_NETWORK_INDEX = 254;

/** The root namespace's address is .1; hosts get .2, .3, … in the order they are added. */
export const ROOT_HOST_NUMBER = 1;
export const FIRST_HOST_NUMBER = 2;
export const MAX_HOST_NUMBER = 254;

/** The bridge inside the switch namespace, and each host's interface to it. */
export const BRIDGE_NAME = "br0";
export const HOST_LINK = "eth0";
/** The switch-side end of the root veth (inside the switch namespace). */
export const SWITCH_ROOT_PORT = "root";

const SWITCH_SUFFIX = "sw";
const HOST_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export function assertNetworkIndex(index: number): void {
  if (!Number.isInteger(index) || index < MIN_NETWORK_INDEX || index > MAX_NETWORK_INDEX) {
    throw new LabError(LabErrorCode.BadOptions, `bad lab network index ${index}`);
  }
}

/** A host name: lower-case letters, digits, '-' and '_', at most 40; not the switch's. */
export function assertHostName(name: string): void {
  if (!HOST_NAME.test(name) || name === SWITCH_SUFFIX) {
    throw new LabError(
      LabErrorCode.BadOptions,
      `bad lab host name ${JSON.stringify(name)} (want [a-z0-9][a-z0-9_-]*, not "sw")`,
    );
  }
}

export function subnetOf(index: number): string {
  assertNetworkIndex(index);
  return `${SUBNET_PREFIX}.${index}.0/24`;
}

/** The address of host number `hostNumber` (1 = the root namespace) on network `index`. */
export function addressOf(index: number, hostNumber: number): string {
  assertNetworkIndex(index);
  if (!Number.isInteger(hostNumber) || hostNumber < 1 || hostNumber > MAX_HOST_NUMBER) {
    throw new LabError(LabErrorCode.BadOptions, `no room for host number ${hostNumber}`);
  }
  return `${SUBNET_PREFIX}.${index}.${hostNumber}`;
}

export function switchNamespace(index: number): string {
  assertNetworkIndex(index);
  return `${NETNS_TAG}-${index}-${SWITCH_SUFFIX}`;
}

export function hostNamespace(index: number, host: string): string {
  assertNetworkIndex(index);
  assertHostName(host);
  return `${NETNS_TAG}-${index}-${host}`;
}

/** The root namespace's end of the root veth: `mlab<N>r`, at most 8 characters. */
export function rootLinkName(index: number): string {
  assertNetworkIndex(index);
  return `${NETNS_TAG}${index}r`;
}

/** The switch-side end of host number `hostNumber`'s veth (a name inside the switch ns). */
export function switchPortName(hostNumber: number): string {
  return `h${hostNumber}`;
}

/** The network index a namespace name belongs to, if it is one of ours. */
export function networkOfNamespace(name: string): number | undefined {
  const m = /^mlab-(\d{1,3})-[a-z0-9][a-z0-9_-]*$/.exec(name);
  return m ? validIndex(Number(m[1])) : undefined;
}

/** The network index a root-namespace link belongs to, if it is one of ours. */
export function networkOfRootLink(name: string): number | undefined {
  const m = /^mlab(\d{1,3})r$/.exec(name);
  return m ? validIndex(Number(m[1])) : undefined;
}

function validIndex(n: number): number | undefined {
  return n >= MIN_NETWORK_INDEX && n <= MAX_NETWORK_INDEX ? n : undefined;
}

/**
 * argv that runs `argv` inside namespace `ns`. `ip netns exec` execs (it does not fork),
 * so the spawned pid is the command's own: signals and /proc reach the real process.
 */
export function netnsExec(ns: string, argv: readonly string[], ip = "ip"): string[] {
  if (argv.length === 0) throw new LabError(LabErrorCode.BadOptions, "netnsExec: empty argv");
  return [ip, "netns", "exec", ns, ...argv];
}
