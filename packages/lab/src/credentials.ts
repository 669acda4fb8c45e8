export interface Account {
  readonly user: string;
  readonly password: string;
}

export interface LabCredentials {
  /**
   * root@localhost, no password, unix socket only; on the containers backend also
   * root@'%' with a password of the lab, over TCP (the socket is inside the container).
   */
  readonly root: Account;
  /** Replication: REPLICATION SLAVE only, from any host. */
  readonly repl: Account;
  /**
   * Marina's admin account (the executors'): exactly the executor's grants of
   * docs/security.md, over TCP. Not enough for the lab's own setup (that is root's).
   */
  readonly marina: Account;
  /** The monitor's account (`monitorAccount`): SLAVE MONITOR and PROCESS, over TCP. */
  readonly monitor: Account;
  /**
   * The agents' backup account, over the socket only ('localhost'): a physical rebuild's
   * donor and a logical rebuild's donor. A logical rebuild's TARGET needs ALL PRIVILEGES
   * (it loads the mysql schema): tests doing one give that agent root.
   */
  readonly backup: Account;
  /** A non-SUPER writer, refused by read_only=1: SELECT, INSERT, UPDATE, DELETE, CREATE. */
  readonly app: Account & { readonly database: string };
}

export type LabUser = keyof LabCredentials;

export const DEFAULT_CREDENTIALS: LabCredentials = {
  root: { user: "root", password: "" },
  repl: { user: "repl", password: "repl-secret" },
  marina: { user: "marina", password: "marina-secret" },
  monitor: { user: "marina_monitor", password: "monitor-secret" },
  backup: { user: "marina_backup", password: "backup-secret" },
  app: { user: "app", password: "app-secret", database: "app" },
};

export interface CredentialOverrides {
  readonly repl?: Partial<Account>;
  readonly marina?: Partial<Account>;
  readonly monitor?: Partial<Account>;
  readonly backup?: Partial<Account>;
  readonly app?: Partial<Account & { database: string }>;
}

export function resolveCredentials(o: CredentialOverrides = {}): LabCredentials {
  const d = DEFAULT_CREDENTIALS;
  return {
    root: d.root,
    repl: { ...d.repl, ...o.repl },
    marina: { ...d.marina, ...o.marina },
    monitor: { ...d.monitor, ...o.monitor },
    backup: { ...d.backup, ...o.backup },
    app: { ...d.app, ...o.app },
  };
}
