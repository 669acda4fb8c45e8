import type { PlanRegistry } from "./common.js";
import { failoverDriver } from "./failover.js";
import { flashbackDriver } from "./flashback.js";
import { rebuildDriver } from "./rebuild.js";
import { rejoinDriver } from "./rejoin.js";
import { switchoverDriver } from "./switchover.js";

/** The plans the operation engine runs, one per operation kind; decide() hands it over. */
export const planRegistry: PlanRegistry = {
  failover: failoverDriver,
  switchover: switchoverDriver,
  rejoin: rejoinDriver,
  rebuild: rebuildDriver,
  flashback: flashbackDriver,
};
