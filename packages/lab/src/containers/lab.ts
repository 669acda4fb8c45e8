// The containers backend of the lab (MARINA_LAB_BACKEND=containers): the same Lab, its
// mariadbd and nats-server in containers on a network of the lab, each server reached
// by replicas through its network alias (a fixed address, in every container's /etc/hosts)
// and by this machine through a mapped port.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { LabBackend } from "../backend.js";
import { resolveCredentials } from "../credentials.js";
import { LabError, LabErrorCode } from "../errors.js";
import { guardDir, releaseDir } from "../exit-guard.js";
import {
  bringUpLab,
  type Lab,
  LabImpl,
  type LabOptions,
  labNatsAuth,
  plannedNodeSpec,
} from "../lab.js";
import type { MariaNodeSpec } from "../mariadb-node.js";
import { freePort, freePorts } from "../ports.js";
import { makeLabDir, removeTree } from "../temp-tree.js";
import { LabShape, planTopology } from "../topology-plan.js";
import { engineInfo, NETWORK_PREFIX, sweepContainers } from "./engine.js";
import { labImages } from "./images.js";
import { ContainerMariaNode } from "./mariadb-container.js";
import { ContainerNatsServer } from "./nats-container.js";
import { ContainerNetwork } from "./network.js";
import type { ContainerPlacement } from "./placement.js";

/** What the containers backend cannot do yet, each refused by name. */
function refuseUnsupported(opts: LabOptions): void {
  const refused = [
    opts.tls ? "tls (certificates name loopback and namespace addresses)" : undefined,
    opts.hosts
      ? "hosts (network namespaces; partitions are not available on containers)"
      : undefined,
    opts.extraHosts?.length ? "extraHosts" : undefined,
    (opts.natsNodes ?? 1) > 1 ? "natsNodes > 1 (a NATS cluster)" : undefined,
    opts.natsTcpRetries2 !== undefined ? "natsTcpRetries2" : undefined,
  ].filter((x): x is string => x !== undefined);
  if (refused.length > 0) {
    throw new LabError(
      LabErrorCode.BadOptions,
      `not available on the containers backend (MARINA_LAB_BACKEND=containers): ${refused.join("; ")}`,
    );
  }
}

export async function startContainerLab(opts: LabOptions = {}): Promise<Lab> {
  refuseUnsupported(opts);
  const shape = opts.shape ?? LabShape.PrimaryReplicas;
  const plan = planTopology(shape, opts.nodes);
  const semiSync = opts.semiSync ?? false;
  const keep = opts.keep ?? process.env.MARINA_LAB_KEEP === "1";
  const images = labImages();
  const { docker, host } = await engineInfo();
  // What runners that died (SIGKILL) left behind.
  await sweepContainers({ docker });
  // root reaches the servers over TCP (no socket from this machine): a password of this lab.
  const credentials = {
    ...resolveCredentials(opts.credentials),
    root: { user: "root", password: randomBytes(12).toString("hex") },
  };
  const dir = await makeLabDir(opts.parentDir);
  if (!keep) guardDir(dir);
  const prefix = `${NETWORK_PREFIX}${process.pid}-${randomBytes(3).toString("hex")}`;
  let network: ContainerNetwork | undefined;
  let lab: LabImpl;
  try {
    network = await ContainerNetwork.create(docker, prefix);
    const placement: ContainerPlacement = { docker, host, network, images, prefix };
    const makeNode = (spec: MariaNodeSpec) => new ContainerMariaNode({ ...spec, placement });
    const ports = await freePorts(plan.length);
    const nodes = plan.map((p, i) =>
      makeNode({
        ...plannedNodeSpec(opts, p, { labDir: dir, credentials, semiSync }),
        port: ports[i] as number,
      }),
    );
    const { natsUsers, auth } = labNatsAuth(opts);
    const nats =
      (opts.nats ?? true)
        ? new ContainerNatsServer({
            dir: join(dir, "nats"),
            port: await freePort(),
            placement,
            ...auth,
          })
        : undefined;
    const started = network;
    lab = new LabImpl({
      dir,
      shape,
      semiSync,
      plan,
      nodes,
      nats,
      natsCluster: undefined,
      credentials,
      natsUsers,
      tls: undefined,
      network: undefined,
      keep,
      opts,
      hooks: {
        backend: LabBackend.Containers,
        makeNode,
        close: async () => {
          await started.remove();
        },
      },
    });
  } catch (err) {
    await network?.remove();
    if (!keep) {
      await removeTree(dir);
      releaseDir(dir);
    }
    throw err;
  }
  return bringUpLab(lab, plan);
}
