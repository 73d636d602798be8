/**
 * The little of a SQL client the embedded store needs, in SQLite's dialect with positional
 * `?` parameters. The queries and the schema are written against this port, apart from the
 * one file that imports the database, so they can be read (and tested) as plain SQL.
 */
export interface SqlQueryable {
  /** Runs one statement; `rows` holds what it selected or returned (empty for a plain write). */
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Runs one or more statements without parameters (schema changes). */
  exec(sql: string): Promise<void>;
}

export interface SqlClient extends SqlQueryable {
  /**
   * Runs `fn` in one write transaction: committed when it resolves, rolled back when it
   * throws. Nothing else reaches the database until it ends.
   */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` as one unit of work: the plain statements it issues (through this client, in its
   * async context) share commits and resolve without waiting for them; the unit resolves once
   * they are all committed, and rejects if one of those commits failed (groupCommit.ts).
   */
  unit<T>(fn: () => Promise<T>): Promise<T>;
}
