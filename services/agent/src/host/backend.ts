import type { BackupInfoFile, DirEntry, Invocation, TlsFiles } from "@marina/hostops";
import type { RebuildMarker } from "./datadir.js";
import type { Binlogs, LocalAccount } from "./local-sql.js";
import type { ServiceControl } from "./service-control.js";

// Everything the agent's operations do to a database host, behind one interface with two
// implementations: `local` (this machine: spawn, fs, the unix socket) and `ssh` (a host the
// agent reaches over SSH: fixed command templates, every word quoted, privileged ones under
// `sudo -n`; SQL over a stream-local forward to the server's socket). The operations
// (ops/*.ts) are written once against it.

/** One program of a streaming pipeline; `env` carries MYSQL_PWD for the database tools. */
export interface StreamStage {
  readonly inv: Invocation;
  readonly env?: NodeJS.ProcessEnv;
  /** Local backend only: the output passes through the agent, which keeps the last line matching. */
  readonly scan?: RegExp;
}

/** Upstream stages wait until this stage's diagnostics show `pattern` (local backend). */
export interface StreamGate {
  readonly stage: number;
  readonly pattern: RegExp;
  readonly timeoutMs: number;
  readonly what: string;
}

export interface StreamResult {
  readonly ok: boolean;
  /** The failing program and its stderr tail, for the error message. */
  readonly failure: string | undefined;
}

/** A running `a | b | c`. */
export interface RunningStream {
  readonly done: Promise<StreamResult>;
  /** Bytes the transfer moved so far (a running counter); undefined when unknown. */
  bytesMoved(): number | undefined;
  /** True once `stage`'s diagnostics show `pattern`; false when it exits first or time runs out. */
  waitForLine(stage: number, pattern: RegExp, timeoutMs: number): Promise<boolean>;
  running(): boolean;
  /** The last line of `stage`'s output matching its `scan` (first group); undefined: none. */
  scanned(stage: number): string | undefined;
  /** Stops every stage; resolves when all exited. */
  kill(): Promise<void>;
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
  /** Return stdout (small outputs only). */
  readonly captureStdout?: boolean;
}

export interface HostBackend {
  readonly kind: "local" | "ssh";
  /** Where the host's receiving socat binds, and what a donor connects to. */
  readonly listenAddress: string;
  readonly advertiseAddress: string;
  /** PEM files for TLS streams, as paths on the host. */
  readonly tls: TlsFiles | undefined;
  /**
   * Whether a pipeline's upstream stages are held back until its gate opens (local: the
   * backup starts only once socat connected). Over SSH the remote pipeline starts as one:
   * a donor whose socat failed may have had its SQL thread stopped — the op restores it.
   */
  readonly holdsSourcesBack: boolean;
  /** Stop/start/status of the server's service. */
  readonly control: ServiceControl;
  /** The backup account, reaching the server over its unix socket. */
  readonly account: LocalAccount;

  /** Runs one allow-listed program to completion (TOOL_FAILED/TIMEOUT/CANCELLED). */
  run(inv: Invocation, o: RunOptions): Promise<string>;
  /** Starts a pipeline; rejects, with nothing left running, when the gate does not open. */
  startStream(stages: readonly StreamStage[], gate: StreamGate): Promise<RunningStream>;
  /** Whether a receiver could listen on `port` now (a hint: the listen attempt decides). */
  portFree(port: number): Promise<boolean>;
  /** Refuses (REFUSED) when a file cannot be read by the stream programs. */
  checkReadable(files: readonly string[]): Promise<void>;

  /** The datadir guard: its top-level entries, or REFUSED. */
  guardDatadir(datadir: string): Promise<DirEntry[]>;
  /** Guard, then empty; `deleted` settles when the old contents are gone. */
  clearDatadir(
    datadir: string,
    trash: string,
  ): Promise<{ removed: number; deleted: Promise<void> }>;
  readRebuildMarker(datadir: string): Promise<RebuildMarker | undefined>;
  writeRebuildMarker(datadir: string, m: RebuildMarker): Promise<void>;
  removeRebuildMarker(datadir: string): Promise<void>;
  /** A file mariadb-backup leaves in the datadir; null when absent. */
  readBackupInfo(datadir: string, file: BackupInfoFile): Promise<string | null>;
  /** chown -R without following symlinks. */
  chownTree(datadir: string, user: string, group: string): Promise<void>;
  /** Bytes of the regular files under `dir`. */
  treeSize(dir: string): Promise<number>;
  /** Copies the binlogs into a new `<saveDir>/<server>-<time>-<opId>/`; returns it. */
  saveBinlogs(saveDir: string, server: string, opId: string, at: Date, b: Binlogs): Promise<string>;
  /** Scratch dir of a donor's mariadb-backup (`--target-dir`), made and removed around it. */
  scratchDir(opId: string): string;
  makeScratch(dir: string): Promise<void>;
  removeScratch(dir: string): Promise<void>;
  /** Releases connections (SSH). */
  close(): void;
}
