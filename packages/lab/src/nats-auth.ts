// The lab's NATS users: one per Marina role with exactly that role's permissions
// (@marina/contracts' natsPermissions), and `lab`, unrestricted, for the tests' own clients.
// Passwords are random per lab. In "lab" mode a client that sends no credentials is `lab`
// (existing test clients need no change); in "strict" mode it is refused, as in production.
import { randomBytes } from "node:crypto";
import {
  NATS_ROLES,
  type NatsIdentity,
  type NatsRole,
  natsPermissions,
  renderAuthorization,
} from "@marina/contracts";

/** off: no authorization at all; lab: users + no_auth_user `lab`; strict: users only. */
export type LabNatsAuth = "off" | "lab" | "strict";

export interface NatsUser {
  readonly user: string;
  readonly password: string;
}

/** Every role's user, and `lab` (no restriction). */
export type LabNatsUsers = Readonly<Record<NatsRole | "lab", NatsUser>>;

/** The NATS user of Marina role `role` in a lab: `marina-<role>`. */
export const labNatsUserName = (role: NatsRole) => `marina-${role}`;

export function makeLabNatsUsers(): LabNatsUsers {
  const secret = () => randomBytes(12).toString("hex");
  const users = Object.fromEntries(
    NATS_ROLES.map((r) => [r, { user: labNatsUserName(r), password: secret() }]),
  ) as Record<NatsRole, NatsUser>;
  return { ...users, lab: { user: "lab", password: secret() } };
}

/**
 * The `authorization` block for these users. The lab's agents serve any host (`*`): each
 * test names its own hosts; per-host agent identities are tested on their own.
 */
export function labAuthorization(users: LabNatsUsers, mode: "lab" | "strict"): string {
  const identities: NatsIdentity[] = [
    { ...users.lab, permissions: undefined },
    ...NATS_ROLES.map((r) => ({
      ...users[r],
      permissions: natsPermissions(r, r === "agent" ? { hosts: ["*"] } : {}),
    })),
  ];
  return renderAuthorization(identities, mode === "lab" ? { noAuthUser: users.lab.user } : {});
}
