/**
 * The little of a Postgres client the SQL store needs. PGlite satisfies it as it is, and so
 * would a thin wrapper over a server connection pool, which is why the queries live apart
 * from the one file that imports the embedded database.
 */
export interface SqlQueryable {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
}

export interface SqlClient extends SqlQueryable {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
}
