import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { systemClock, type Clock } from '../../core/clock.ts';
import { InternalError, MeshError } from '../../core/errors.ts';
import type { Store } from '../../core/ports/Store.ts';
import { migrate } from './migrations.ts';
import type { SqlClient, SqlQueryable } from './SqlClient.ts';
import { sqlEventLog } from './sqlEventLog.ts';
import { sqlFailureLedger } from './sqlFailureLedger.ts';
import { sqlIdempotencyStore } from './sqlIdempotencyStore.ts';
import { acquireStoreLock } from './storeLock.ts';

/*
 * The embedded store: PGlite (Postgres compiled to WASM, no native build) with its data in
 * `<dir>/pglite`, guarded by `<dir>/store.lock` (PGlite itself lets a second process open
 * the same data directory, and two writers corrupt it). This is the only file that
 * imports PGlite; the queries and schema beside it are written against the SqlClient port.
 *
 * Costs, measured on a 2-core machine: the first open of an empty directory runs initdb,
 * about 2 s when idle and 6–8 s under load; opening an existing store takes 0.25–0.5 s;
 * single operations take well under a millisecond to a few milliseconds. Open the store
 * once per process and keep it open.
 */

export interface LocalStoreOptions {
  /** The store directory (the mesh uses `.mesh/` or `$MESH_HOME`); created when missing. */
  dir: string;
  /** Decides whether idempotency claims have expired and stamps updates. Defaults to the system clock. */
  clock?: Clock;
}

/**
 * Opens (creating if needed) the embedded store in `dir`. One process at a time may hold a
 * directory: a second opener gets a StoreLockedError naming it.
 *
 * @example
 * const store = await openLocalStore({ dir: '.mesh' });
 * try {
 *   console.log(await store.events.listEvents({ kind: 'result', limit: 20 }));
 * } finally {
 *   await store.close();
 * }
 */
export async function openLocalStore(options: LocalStoreOptions): Promise<Store> {
  const { dir } = options;
  const clock = options.clock ?? systemClock;
  await mkdir(dir, { recursive: true });
  const lock = await acquireStoreLock(dir);

  let pg: PGlite | undefined;
  try {
    pg = await PGlite.create(join(dir, 'pglite'));
    await migrate(pgliteClient(pg, dir), clock, dir);
  } catch (err) {
    await pg?.close().catch(() => {});
    await lock.release();
    if (err instanceof MeshError) throw err;
    throw new InternalError(`could not open the embedded store in ${dir}: ${messageOf(err)}`, { cause: err, context: { dir } });
  }

  const opened = pg;
  const db = pgliteClient(opened, dir);
  let closed: Promise<void> | undefined;
  return {
    idempotency: sqlIdempotencyStore(db, clock),
    failures: sqlFailureLedger(db),
    events: sqlEventLog(db),
    close: () =>
      (closed ??= (async () => {
        try {
          await opened.close();
        } finally {
          await lock.release();
        }
      })()),
  };
}

/** PGlite behind the SqlClient port, its errors translated into mesh errors. */
function pgliteClient(db: PGlite, dir: string): SqlClient {
  const translate = (err: unknown): never => {
    throw new InternalError(`embedded store in ${dir}: ${messageOf(err)}`, { cause: err, context: { dir } });
  };
  const wrap = (q: PGlite | Transaction): SqlQueryable => ({
    query: <T>(sql: string, params?: unknown[]) => q.query<T>(sql, params).catch(translate),
    exec: (sql: string) => q.exec(sql).catch(translate),
  });
  return { ...wrap(db), transaction: (fn) => db.transaction((tx) => fn(wrap(tx))) };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
