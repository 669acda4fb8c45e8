// Which lab network index (N of 10.231.N.0/24) belongs to which live process.
//
// /run/marina-lab-net/<N>/ holds one file naming its holder: `owner` (content: the owner's
// pid, start time, run tag) or `claim.<pid>.<start>` (a sweeper removing a dead owner's
// network). Every change is one atomic rename, so two processes never both believe they
// hold N:
// - reserve: a private `.new.*` dir with `owner` inside is renamed to `<N>` (fails if `<N>`
//   exists), so a reservation is never seen without its owner;
// - sweep: a dead holder's file is renamed to the sweeper's claim (only one rename wins);
// - release: `<N>` is renamed away, then removed (nobody else ever writes into it).
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MAX_NETWORK_INDEX, MIN_NETWORK_INDEX } from "./netns-names.js";
import { LAB_RUN_ENV } from "./temp-tree.js";

export const RESERVATION_DIR = "/run/marina-lab-net";
const OWNER_FILE = "owner";

export interface HolderRecord {
  readonly pid: number;
  /** /proc/<pid>/stat start time: tells a live owner from a reused pid. */
  readonly start: string;
  /** The vitest run (MARINA_LAB_RUN) the owner belonged to, if any. */
  readonly run?: string;
}

export function formatHolder(h: HolderRecord): string {
  return `${h.pid} ${h.start}${h.run ? ` ${h.run}` : ""}\n`;
}

export function parseHolder(text: string): HolderRecord | undefined {
  const [pid, start, run] = text.trim().split(/\s+/);
  if (!pid || !/^\d+$/.test(pid) || !start || !/^\d+$/.test(start)) return undefined;
  return { pid: Number(pid), start, ...(run ? { run } : {}) };
}

/** The holder named by a claim file's name (`claim.<pid>.<start>`). */
export function parseClaimName(name: string): HolderRecord | undefined {
  const m = /^claim\.(\d+)\.(\d+)$/.exec(name);
  return m ? { pid: Number(m[1]), start: m[2] as string } : undefined;
}

export function claimName(h: HolderRecord): string {
  return `claim.${h.pid}.${h.start}`;
}

/** Field 22 of /proc/<pid>/stat, or undefined if the process is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export function isAlive(h: HolderRecord): boolean {
  return processStartTime(h.pid) === h.start;
}

let self: HolderRecord | undefined;

/** This process as a holder. */
export function selfHolder(): HolderRecord {
  if (!self) {
    const run = process.env[LAB_RUN_ENV];
    self = {
      pid: process.pid,
      start: processStartTime(process.pid) ?? "0",
      ...(run && /^[A-Za-z0-9]+$/.test(run) ? { run } : {}),
    };
  }
  return self;
}

/** Takes index N for this process if nobody holds it; true if N is now ours. */
export async function tryReserve(index: number, dir = RESERVATION_DIR): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const me = selfHolder();
  const tmp = join(dir, `.new.${me.pid}.${me.start}.${randomBytes(4).toString("hex")}`);
  await mkdir(tmp);
  try {
    await writeFile(join(tmp, OWNER_FILE), formatHolder(me));
    await rename(tmp, join(dir, String(index)));
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") return false;
    throw err;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Reserves a free index not in `avoid`; undefined if all are taken. The search starts at a
 * random index: parallel workers rarely race for the same one, and an index just released
 * is rarely reused at once (its names are then unambiguous in logs).
 */
export async function reserveIndex(
  avoid: ReadonlySet<number>,
  dir = RESERVATION_DIR,
): Promise<number | undefined> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const taken = new Set((await readdir(dir)).filter((e) => /^\d+$/.test(e)).map(Number));
  const size = MAX_NETWORK_INDEX - MIN_NETWORK_INDEX + 1;
  const first = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const n = MIN_NETWORK_INDEX + ((first + i) % size);
    if (taken.has(n) || avoid.has(n)) continue;
    if (await tryReserve(n, dir)) return n;
  }
  return undefined;
}

/**
 * Gives index N back, if this process holds it (as owner or as a sweeper's claim).
 * Synchronous: also used from the exit hook.
 */
export function releaseIndexSync(index: number, dir = RESERVATION_DIR): void {
  const path = join(dir, String(index));
  if (!holdsIndex(path)) return;
  const gone = join(dir, `.gone.${randomBytes(6).toString("hex")}`);
  try {
    renameSync(path, gone);
  } catch {
    return;
  }
  rmSync(gone, { recursive: true, force: true });
}

function holdsIndex(path: string): boolean {
  const me = selfHolder();
  try {
    if (readdirSync(path).includes(claimName(me))) return true;
    const owner = parseHolder(readFileSync(join(path, OWNER_FILE), "utf8"));
    return owner?.pid === me.pid && owner.start === me.start;
  } catch {
    return false;
  }
}

/** What a sweep took over: the index and the dead holder it belonged to. */
export interface StaleReservation {
  readonly index: number;
  readonly holder: HolderRecord | undefined;
}

/**
 * Claims every reservation whose holder is dead (the caller then deletes the network and
 * calls releaseIndexSync), and removes leftover temp dirs of dead processes.
 */
export async function claimStaleReservations(dir = RESERVATION_DIR): Promise<StaleReservation[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const out: StaleReservation[] = [];
  for (const e of entries) {
    if (/^\d+$/.test(e)) {
      const claimed = await claimIfStale(join(dir, e));
      if (claimed) out.push({ index: Number(e), holder: claimed.holder });
    } else if (e.startsWith(".gone.")) {
      await rm(join(dir, e), { recursive: true, force: true });
    } else {
      const m = /^\.new\.(\d+)\.(\d+)\./.exec(e);
      if (m && !isAlive({ pid: Number(m[1]), start: m[2] as string })) {
        await rm(join(dir, e), { recursive: true, force: true });
      }
    }
  }
  return out;
}

async function claimIfStale(
  path: string,
): Promise<{ holder: HolderRecord | undefined } | undefined> {
  let files: string[];
  try {
    files = await readdir(path);
  } catch {
    return undefined;
  }
  for (const f of files) {
    // Alive-check the holder: the owner, or the sweeper named by a claim (a claim keeps the
    // dead owner's record as its content).
    const record = parseHolder(await readFile(join(path, f), "utf8").catch(() => ""));
    const holder = f === OWNER_FILE ? record : parseClaimName(f);
    if (f !== OWNER_FILE && !holder) continue;
    if (holder && isAlive(holder)) return undefined;
    try {
      await rename(join(path, f), join(path, claimName(selfHolder())));
      return { holder: record };
    } catch {
      return undefined; // another sweeper won
    }
  }
  return undefined;
}
