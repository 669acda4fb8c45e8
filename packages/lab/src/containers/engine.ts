// The container engine as the containers backend sees it: the labels every lab container
// and network carries, and the sweep of what dead runs left behind (no Ryuk: a SIGKILLed
// runner cannot clean up after itself).
import { getContainerRuntimeClient } from "testcontainers";
import { LabError, LabErrorCode } from "../errors.js";

/** Every lab container and network: its lab's owner process, for the sweep. */
export const LABEL_LAB = "org.marina.lab";
export const LABEL_OWNER_PID = "org.marina.lab.pid";
/** Lab networks' names start with this (the sweep goes by name: an old run's have no labels). */
export const NETWORK_PREFIX = "marina-lab-";

/** The engine's Docker API client (dockerode, as testcontainers holds it). */
export type Dockerode = Awaited<
  ReturnType<typeof getContainerRuntimeClient>
>["container"]["dockerode"];
export type EngineContainer = ReturnType<Dockerode["getContainer"]>;

/** The engine's Docker API client (Docker, or Podman's Docker API), with a clear error. */
export async function engine(): Promise<Dockerode> {
  return (await engineInfo()).docker;
}

/**
 * The engine's client and the address this machine reaches its published ports on
 * (testcontainers' answer: the engine's host, or TESTCONTAINERS_HOST_OVERRIDE).
 */
export async function engineInfo(): Promise<{ docker: Dockerode; host: string }> {
  try {
    const client = await getContainerRuntimeClient();
    return { docker: client.container.dockerode, host: client.info.containerRuntime.host };
  } catch (err) {
    throw new LabError(
      LabErrorCode.StartFailed,
      "the containers backend found no container engine: set DOCKER_HOST (Podman: `podman system service`), " +
        "or run `pnpm test:containers` / `bash scripts/sandbox.sh --containers`, which set it up",
      { cause: err },
    );
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** What a sweep removed. */
export interface SweptContainers {
  readonly containers: readonly string[];
  readonly networks: readonly string[];
}

/**
 * Removes the lab containers and networks whose owner process is gone (or, with `all`,
 * every one: at the end of a run, when no lab may still be running).
 */
export async function sweepContainers(
  opts: { all?: boolean; docker?: Dockerode } = {},
): Promise<SweptContainers> {
  const docker = opts.docker ?? (await engine());
  const stale = (labels: Record<string, string> | undefined) =>
    opts.all === true || !alive(Number(labels?.[LABEL_OWNER_PID]));
  const list = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [LABEL_LAB] }),
  });
  const containers: string[] = [];
  for (const c of list.filter((x) => stale(x.Labels))) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => {});
    containers.push((c.Names?.[0] ?? c.Id).replace(/^\//, ""));
  }
  const networks: string[] = [];
  for (const n of await docker.listNetworks()) {
    const m = /^marina-lab-(\d+)-/.exec(n.Name);
    if (!m || (opts.all !== true && alive(Number(m[1])))) continue;
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => {});
    networks.push(n.Name);
  }
  return { containers, networks };
}
