import { LabError, LabErrorCode } from "./errors.js";

export const LabShape = {
  PrimaryReplicas: "primary-replicas",
  Chain: "chain",
  MultiSource: "multi-source",
} as const;
export type LabShape = (typeof LabShape)[keyof typeof LabShape];

export const LAB_SHAPES: readonly LabShape[] = Object.values(LabShape);

export type NodeRole = "primary" | "relay" | "replica";

export interface ReplicationSource {
  readonly from: string;
  /** Named connection (multi-source); undefined = the default connection. */
  readonly connectionName?: string;
}

export interface NodePlan {
  readonly name: string;
  readonly serverId: number;
  readonly domainId: number;
  readonly role: NodeRole;
  readonly sources: readonly ReplicationSource[];
}

export function isLabShape(s: string): s is LabShape {
  return (LAB_SHAPES as readonly string[]).includes(s);
}

const nodeName = (i: number) => `db${i}`;

/**
 * Which node replicates from which. Node i is `db<i>` with server_id i.
 * - primary-replicas: db1 primary, every other node replicates db1.
 * - chain: db1 → db2 → … (the middle nodes are relays).
 * - multi-source: db1 (domain 1) and db2 (domain 2) are primaries; every further node
 *   replicates both through named connections 'p1' and 'p2'.
 */
export function planTopology(shape: LabShape, count?: number): NodePlan[] {
  const min = shape === LabShape.MultiSource ? 3 : shape === LabShape.Chain ? 2 : 1;
  const n = count ?? 3;
  if (!Number.isInteger(n) || n < min || n > 9) {
    throw new LabError(LabErrorCode.BadOptions, `${shape} needs ${min}..9 nodes, got ${count}`);
  }
  const plans: NodePlan[] = [];
  for (let i = 1; i <= n; i++) {
    const name = nodeName(i);
    switch (shape) {
      case LabShape.PrimaryReplicas:
        plans.push({
          name,
          serverId: i,
          domainId: 0,
          role: i === 1 ? "primary" : "replica",
          sources: i === 1 ? [] : [{ from: nodeName(1) }],
        });
        break;
      case LabShape.Chain:
        plans.push({
          name,
          serverId: i,
          domainId: 0,
          role: i === 1 ? "primary" : i === n ? "replica" : "relay",
          sources: i === 1 ? [] : [{ from: nodeName(i - 1) }],
        });
        break;
      case LabShape.MultiSource:
        plans.push(
          i <= 2
            ? { name, serverId: i, domainId: i, role: "primary", sources: [] }
            : {
                name,
                serverId: i,
                domainId: 0,
                role: "replica",
                sources: [
                  { from: nodeName(1), connectionName: "p1" },
                  { from: nodeName(2), connectionName: "p2" },
                ],
              },
        );
        break;
      default: {
        const never: never = shape;
        throw new LabError(LabErrorCode.BadOptions, `unknown shape ${String(never)}`);
      }
    }
  }
  return plans;
}
