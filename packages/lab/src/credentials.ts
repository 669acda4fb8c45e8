export interface Account {
  readonly user: string;
  readonly password: string;
}

export interface LabCredentials {
  /** root@localhost, no password, unix socket only. */
  readonly root: Account;
  /** Replication: REPLICATION SLAVE (+ admin/monitor privileges), from any host. */
  readonly repl: Account;
  /** Monitor/admin for Marina's services: ALL PRIVILEGES WITH GRANT OPTION, over TCP. */
  readonly marina: Account;
  /** A non-SUPER writer, refused by read_only=1: SELECT, INSERT, UPDATE, DELETE, CREATE. */
  readonly app: Account & { readonly database: string };
}

export type LabUser = keyof LabCredentials;

export const DEFAULT_CREDENTIALS: LabCredentials = {
  root: { user: "root", password: "" },
  repl: { user: "repl", password: "repl-secret" },
  marina: { user: "marina", password: "marina-secret" },
  app: { user: "app", password: "app-secret", database: "app" },
};

export interface CredentialOverrides {
  readonly repl?: Partial<Account>;
  readonly marina?: Partial<Account>;
  readonly app?: Partial<Account & { database: string }>;
}

export function resolveCredentials(o: CredentialOverrides = {}): LabCredentials {
  const d = DEFAULT_CREDENTIALS;
  return {
    root: d.root,
    repl: { ...d.repl, ...o.repl },
    marina: { ...d.marina, ...o.marina },
    app: { ...d.app, ...o.app },
  };
}
