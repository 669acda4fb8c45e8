// Which NATS `marina` talks to and as whom: `--nats` / MARINA_NATS, MARINA_NATS_USER and
// MARINA_NATS_PASSWORD (never a password flag: a command line is visible to every user of
// the host), `--nats-ca` / MARINA_NATS_CA. With none of the server settings given, a
// running sandbox's file (sandbox-env.ts) is used, else nats://127.0.0.1:4222.
import { MarinaError } from "@marina/contracts";
import { natsServers, readTlsFiles } from "@marina/runtime";
import { connect, errors, type NatsConnection } from "@nats-io/transport-node";
import { CliError } from "./exit-codes.js";

export const DEFAULT_NATS = "nats://127.0.0.1:4222";
/** How long one connect attempt may take before `marina` gives up (exit 4). */
export const CONNECT_TIMEOUT_MS = 3000;

export interface ConnectionSettings {
  readonly servers: readonly string[];
  readonly user?: string;
  readonly pass?: string;
  readonly caFile?: string;
  /** Where the servers came from, for error messages. */
  readonly from: "--nats" | "MARINA_NATS" | "sandbox" | "default";
}

export interface ConnectionFlags {
  readonly nats?: string | undefined;
  readonly natsCa?: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The settings from flags and environment; `sandbox` is a running sandbox's environment
 * file (its NATS and operator identity), used only when nothing was named: no server and no
 * user or password (those are never sent to a server the file names).
 */
export function connectionSettings(
  flags: ConnectionFlags,
  env: Env,
  sandbox?: Env,
): ConnectionSettings {
  const caFile = flags.natsCa ?? nonEmpty(env.MARINA_NATS_CA);
  const ca = caFile !== undefined ? { caFile } : {};
  const named =
    flags.nats !== undefined ? "--nats" : nonEmpty(env.MARINA_NATS) ? "MARINA_NATS" : undefined;
  const explicit = {
    ...(nonEmpty(env.MARINA_NATS_USER) ? { user: env.MARINA_NATS_USER } : {}),
    ...(nonEmpty(env.MARINA_NATS_PASSWORD) ? { pass: env.MARINA_NATS_PASSWORD } : {}),
  };
  if (named !== undefined) {
    const servers = natsServers(flags.nats ?? env.MARINA_NATS, []);
    if (servers.length === 0) {
      throw new CliError("USAGE", `${named}: no NATS server URL given`, { path: named });
    }
    return { servers, ...explicit, ...ca, from: named };
  }
  const sandboxServers = natsServers(sandbox?.MARINA_NATS, []);
  const noIdentity = explicit.user === undefined && explicit.pass === undefined;
  if (sandbox && sandboxServers.length > 0 && noIdentity) {
    const fromSandbox = {
      ...(nonEmpty(sandbox.MARINA_NATS_USER) ? { user: sandbox.MARINA_NATS_USER } : {}),
      ...(nonEmpty(sandbox.MARINA_NATS_PASSWORD) ? { pass: sandbox.MARINA_NATS_PASSWORD } : {}),
    };
    return { servers: sandboxServers, ...fromSandbox, ...ca, from: "sandbox" };
  }
  return { servers: [DEFAULT_NATS], ...explicit, ...ca, from: "default" };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v !== "" ? v : undefined;
}

/** One connection for the whole command; failures are exit 4 with what to check. */
export async function connectNats(s: ConnectionSettings): Promise<NatsConnection> {
  let tls: { ca: string } | undefined;
  if (s.caFile !== undefined) {
    try {
      tls = { ca: readTlsFiles({ ca: s.caFile }, "--nats-ca").ca };
    } catch (err) {
      const message = err instanceof MarinaError ? err.message : String(err);
      throw new CliError("USAGE", message, { cause: err, path: "--nats-ca" });
    }
  }
  const where = `${s.servers.join(",")} (from ${s.from})`;
  try {
    return await connect({
      servers: [...s.servers],
      name: "marina-cli",
      ...(s.user !== undefined ? { user: s.user } : {}),
      ...(s.pass !== undefined ? { pass: s.pass } : {}),
      ...(tls ? { tls } : {}),
      timeout: CONNECT_TIMEOUT_MS,
      // Once connected, ride over the loss of one NATS server as the services do.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof errors.AuthorizationError || /authori[sz]ation/i.test(reason)) {
      const who = s.user ? `user ${s.user}` : "no user (MARINA_NATS_USER is unset)";
      throw new CliError("NATS_DENIED", `NATS at ${where} refused ${who}: ${reason}`, {
        cause: err,
      });
    }
    throw new CliError("NATS_UNREACHABLE", `cannot connect to NATS at ${where}: ${reason}`, {
      cause: err,
    });
  }
}
