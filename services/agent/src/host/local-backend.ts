import { constants } from "node:fs";
import { access, mkdir, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { MarinaError } from "@marina/contracts";
import type { ToolPaths } from "@marina/hostops";
import type { AgentConfig, AgentServerConfig } from "../config.js";
import { Pipeline } from "../proc/pipeline.js";
import { runProgram } from "../proc/run.js";
import type { HostBackend } from "./backend.js";
import {
  chownTree,
  clearDatadir,
  guardDatadir,
  readRebuildMarker,
  removeRebuildMarker,
  treeSize,
  writeRebuildMarker,
} from "./datadir.js";
import type { LocalAccount } from "./local-sql.js";
import { saveBinlogs } from "./save-binlogs.js";
import type { ServiceControl } from "./service-control.js";

/** Whether a TCP port can be bound on `address` right now. */
export function portFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ host: address, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export interface LocalBackendDeps {
  readonly cfg: AgentConfig;
  readonly paths: ToolPaths;
  readonly server: AgentServerConfig;
  readonly control: ServiceControl;
  readonly account: LocalAccount;
}

/** The host the agent runs on: spawn with argv arrays, fs calls, the unix socket. */
export function localBackend(d: LocalBackendDeps): HostBackend {
  const { cfg, paths, server } = d;
  return {
    kind: "local",
    listenAddress: cfg.listenAddress,
    advertiseAddress: cfg.advertiseAddress,
    tls: cfg.tls,
    holdsSourcesBack: true,
    control: d.control,
    account: d.account,
    run: (inv, o) => runProgram(inv, { paths, ...o }),
    startStream: (stages, gate) => Pipeline.start(stages, { paths, gate }),
    portFree: (port) => portFree(cfg.listenAddress, port),
    async checkReadable(files) {
      for (const f of files) {
        await access(f, constants.R_OK).catch(() => {
          throw new MarinaError("REFUSED", `tls file ${f} is not readable`);
        });
      }
    },
    guardDatadir,
    clearDatadir,
    readRebuildMarker,
    writeRebuildMarker,
    removeRebuildMarker,
    readBackupInfo: (datadir, file) => readFile(join(datadir, file), "utf8").catch(() => null),
    chownTree,
    treeSize,
    saveBinlogs,
    scratchDir: (opId) => join(cfg.tmpDir, `${server.name}-${opId}`),
    async makeScratch(dir) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    },
    async removeScratch(dir) {
      await rm(dir, { recursive: true, force: true });
    },
    close() {},
  };
}
