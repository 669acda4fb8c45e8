// Removes what lab networks of dead processes left behind: namespaces, the root veth,
// processes still running inside, the reservation.
import { readdir } from "node:fs/promises";
import { ip, runCommandSync } from "./netns-command.js";
import { networkOfNamespace, networkOfRootLink, rootLinkName } from "./netns-names.js";
import {
  claimStaleReservations,
  type HolderRecord,
  RESERVATION_DIR,
  releaseIndexSync,
  tryReserve,
} from "./netns-reservation.js";

export interface SweptNetwork {
  readonly index: number;
  /** The dead owner, when its reservation was still there. */
  readonly holder: HolderRecord | undefined;
  readonly namespaces: readonly string[];
  readonly links: readonly string[];
  /** What could not be removed (the next sweep tries again). */
  readonly failures: readonly string[];
}

export interface SweepOptions {
  /** The reservation directory (default /run/marina-lab-net). */
  readonly dir?: string;
}

/**
 * Deletes the lab networks whose owner process is gone (killed before close() or its exit
 * hook ran), and namespaces or root veths carrying the lab's tag without any reservation.
 * Networks of live processes are never touched. Returns what was removed.
 */
export async function sweepStaleNetworks(opts: SweepOptions = {}): Promise<SweptNetwork[]> {
  const dir = opts.dir ?? RESERVATION_DIR;
  const out: SweptNetwork[] = [];
  for (const stale of await claimStaleReservations(dir)) {
    try {
      out.push({ index: stale.index, holder: stale.holder, ...(await removeObjects(stale.index)) });
    } finally {
      // Released even after a failure: what is left has no reservation, the next sweep
      // claims the index again.
      releaseIndexSync(stale.index, dir);
    }
  }
  // Objects with no reservation at all: take the index first, so nobody can be creating them.
  const reserved = new Set(
    (await readdir(dir).catch(() => [] as string[])).filter((e) => /^\d+$/.test(e)).map(Number),
  );
  for (const index of (await listObjects()).keys()) {
    if (reserved.has(index) || !(await tryReserve(index, dir))) continue;
    try {
      out.push({ index, holder: undefined, ...(await removeObjects(index)) });
    } finally {
      releaseIndexSync(index, dir);
    }
  }
  return out;
}

interface NetworkObjects {
  readonly namespaces: string[];
  readonly links: string[];
}

/** The lab's namespaces and root links that exist now, by network index. */
export async function listObjects(): Promise<Map<number, NetworkObjects>> {
  const out = new Map<number, NetworkObjects>();
  const entry = (i: number) => {
    let e = out.get(i);
    if (!e) {
      e = { namespaces: [], links: [] };
      out.set(i, e);
    }
    return e;
  };
  for (const ns of await readdir("/run/netns").catch(() => [] as string[])) {
    const i = networkOfNamespace(ns);
    if (i !== undefined) entry(i).namespaces.push(ns);
  }
  for (const link of await readdir("/sys/class/net").catch(() => [] as string[])) {
    const i = networkOfRootLink(link);
    if (i !== undefined) entry(i).links.push(link);
  }
  return out;
}

/** Kills what still runs inside network `index`'s namespaces, then deletes them and its veth. */
async function removeObjects(index: number): Promise<NetworkObjects & { failures: string[] }> {
  const found = (await listObjects()).get(index) ?? { namespaces: [], links: [] };
  for (const ns of found.namespaces) {
    const pids = await ip("netns", "pids", ns).catch(() => "");
    for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone
      }
    }
  }
  const failures: string[] = [];
  // The root veth first and explicitly: namespace teardown is asynchronous in the kernel,
  // and a new network reusing N needs the name `mlab<N>r` free at once.
  for (const link of found.links) {
    if (!runCommandSync(["ip", "link", "del", link]) && linkExists(link)) {
      failures.push(`link ${link}`);
    }
  }
  for (const ns of found.namespaces) {
    await ip("netns", "del", ns).catch((err: unknown) => failures.push(`netns ${ns}: ${err}`));
  }
  return { ...found, failures };
}

function linkExists(name: string): boolean {
  return runCommandSync(["ip", "link", "show", name]);
}

/** Synchronous teardown of one network (exit hook): root veth, namespaces. Best effort. */
export function removeNetworkSync(index: number, namespaces: readonly string[]): void {
  runCommandSync(["ip", "link", "del", rootLinkName(index)]);
  for (const ns of namespaces) runCommandSync(["ip", "netns", "del", ns]);
}
