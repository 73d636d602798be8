import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { InternalError, StoreUnavailableError } from '../../core/errors.ts';
import { GroupCommit } from './groupCommit.ts';
import type { SqlClient, SqlQueryable } from './SqlClient.ts';

/** An open `node:sqlite` database behind the SqlClient port. */
export interface SqliteHandle {
  client: SqlClient;
  close(): void;
}

// SQLITE_BUSY and SQLITE_LOCKED: another connection (a sqlite3 shell someone left open) holds
// the lock past busy_timeout. Worth retrying, unlike every other error.
const BUSY_CODES = new Set([5, 6]);

/**
 * Opens the database file at `path` (it should exist, created with the mode it must keep:
 * SQLite gives its -wal and -shm files the database file's mode) and sets the connection up:
 *
 * - `journal_mode=WAL`: a commit appends to the log instead of rewriting pages, and
 *   readers do not block the writer.
 * - `synchronous=NORMAL`: in WAL mode a commit is written to the log (the OS has it) before
 *   the call returns, and fsynced at checkpoints. Nothing acknowledged is lost when the
 *   process is killed; a power cut or kernel crash may roll back the last commits, never
 *   corrupt the file. FULL would fsync every commit: about twice the cost per write on an
 *   idle SSD, much more on a busy disk, for a guarantee a development store does not need.
 * - `busy_timeout`: one writer holds the store (the lock file), but a person inspecting
 *   it with the sqlite3 shell can briefly hold a read lock during a checkpoint.
 * - `foreign_keys`: replay history is deleted with its failure.
 *
 * node:sqlite is synchronous; the port is asynchronous so that a server database could
 * stand behind it, and so that plain statements can share commits (groupCommit.ts).
 * Statements are prepared once and kept. `where` names the store in errors.
 */
export function openSqlite(path: string, where: string): SqliteHandle {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true, timeout: 5_000 });
  try {
    const mode = db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode?: string } | undefined;
    if (mode?.journal_mode !== 'wal') throw new Error(`could not switch to WAL (journal mode is ${String(mode?.journal_mode)})`);
    db.exec('PRAGMA synchronous = NORMAL');
  } catch (err) {
    db.close();
    throw err;
  }

  const statements = new Map<string, StatementSync>();
  const prepared = (sql: string): StatementSync => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  const run = <T>(sql: string, params: unknown[] = []): { rows: T[] } => {
    try {
      return { rows: prepared(sql).all(...params.map(bindable)) as T[] };
    } catch (err) {
      throw translate(err, where);
    }
  };
  const execute = (sql: string): void => {
    try {
      db.exec(sql);
    } catch (err) {
      throw translate(err, where);
    }
  };
  const group = new GroupCommit({
    run: (sql, params) => run(sql, params).rows,
    control: (sql) => {
      try {
        prepared(sql).run();
      } catch (err) {
        throw translate(err, where);
      }
    },
    inTransaction: () => db.isTransaction,
  });

  // One connection: while a transaction is open, only its own queries may reach it, or
  // another caller's writes would land inside it (and be rolled back with it).
  let inTransaction: Promise<void> | undefined;
  const free = async (): Promise<void> => {
    while (inTransaction) await inTransaction;
  };
  const tx: SqlQueryable = {
    query: async <T>(sql: string, params?: unknown[]) => run<T>(sql, params),
    exec: async (sql) => execute(sql),
  };

  const client: SqlClient = {
    // Plain statements share commits with their neighbours (groupCommit.ts); each resolves
    // once the commit holding it is done.
    query: async <T>(sql: string, params: unknown[] = []) => {
      if (inTransaction) await free();
      return (await group.query(sql, params)) as { rows: T[] };
    },
    exec: async (sql) => {
      await free();
      group.flush();
      execute(sql);
    },
    unit: (fn) => group.unit(fn),
    transaction: async (fn) => {
      await free();
      group.flush();
      let done!: () => void;
      inTransaction = new Promise((resolve) => (done = resolve));
      try {
        // IMMEDIATE takes the write lock now rather than at the first write, so the
        // transaction cannot fail half way for want of it.
        execute('BEGIN IMMEDIATE');
        try {
          const out = await fn(tx);
          execute('COMMIT');
          return out;
        } catch (err) {
          // A failed rollback would hide why the transaction failed: report the first error.
          if (db.isTransaction) {
            try {
              execute('ROLLBACK');
            } catch {
              // the transaction's own error below says more
            }
          }
          throw err;
        }
      } finally {
        inTransaction = undefined;
        done();
      }
    },
  };

  return {
    client,
    close: () => {
      // Closing the last connection checkpoints the log into the database file and removes
      // the -wal and -shm files.
      if (!db.isOpen) return;
      group.flush();
      db.close();
    },
  };
}

/** SQLite has no boolean type: booleans are stored as 0/1, as the schema says. */
function bindable(value: unknown): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value as SQLInputValue;
}

function translate(err: unknown, where: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  const errcode = (err as { errcode?: unknown }).errcode;
  if (typeof errcode === 'number' && BUSY_CODES.has(errcode & 0xff)) {
    return new StoreUnavailableError(`embedded store in ${where} is busy: ${message}`, { cause: err, context: { dir: where } });
  }
  return new InternalError(`embedded store in ${where}: ${message}`, { cause: err, context: { dir: where } });
}
