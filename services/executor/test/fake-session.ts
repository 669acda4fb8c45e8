import type { Connector, Session } from "../src/db.js";
import type { Row } from "../src/rows.js";
import type { Statement } from "../src/sql.js";

/**
 * A scripted stand-in for a connection, for pure unit tests of control flow (polling,
 * refusal before any connection). Real SQL behaviour is tested on real servers.
 */
export class ScriptedSession implements Session {
  readonly statements: string[] = [];
  closed = false;
  constructor(private readonly answer: (sql: string, params?: readonly unknown[]) => Row[]) {}
  async rows(sql: string, params?: readonly unknown[]): Promise<Row[]> {
    this.statements.push(sql);
    return this.answer(sql, params);
  }
  async run(stmt: Statement): Promise<void> {
    this.statements.push(stmt.sql);
    this.answer(stmt.sql, stmt.params);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export function scriptedConnector(session: () => Session): Connector & { calls: number } {
  const c = Object.assign(
    async () => {
      c.calls++;
      return session();
    },
    { calls: 0 },
  );
  return c;
}
