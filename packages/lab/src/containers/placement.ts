import type { Dockerode } from "./engine.js";
import type { LabImages } from "./images.js";
import type { ContainerNetwork } from "./network.js";

/** Where a lab's containers go: the engine, the lab's network, the images, a name prefix. */
export interface ContainerPlacement {
  readonly docker: Dockerode;
  /** Where this machine reaches the containers' published ports. */
  readonly host: string;
  readonly network: ContainerNetwork;
  readonly images: LabImages;
  /** `marina-lab-<pid>-<random>`: the network's name and every container name's start. */
  readonly prefix: string;
}
