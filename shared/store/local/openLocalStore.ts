import { chmod, mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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
 *
 * The store holds every event that passed through, so it is private to its user: the
 * directory is 0700 and its files 0600, whatever the umask, and a store created by an older
 * mesh (0755/0644) is tightened when it is opened. Files the database creates while open
 * get the umask's mode, but nobody else can reach them through a 0700 directory.
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
  await makePrivateDir(dir);
  const lock = await acquireStoreLock(dir);

  let pg: PGlite | undefined;
  try {
    pg = await PGlite.create(join(dir, 'pglite'));
    await migrate(pgliteClient(pg, dir), clock, dir);
    await makePrivateTree(dir);
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

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** Creates `dir` 0700 (its missing parents as usual) and tightens it when it already existed. */
async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  await mkdir(dir, { mode: PRIVATE_DIR }).catch((err: unknown) => {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
  });
  // mkdir's mode passes through the umask, and an existing directory keeps its old mode.
  if (process.platform !== 'win32') await chmod(dir, PRIVATE_DIR);
}

/** Every directory under `dir` 0700, every file 0600 (symbolic links are left alone). */
async function makePrivateTree(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  await Promise.all(
    entries.map(async (entry) => {
      if (entry.isSymbolicLink()) return;
      await chmod(join(entry.parentPath, entry.name), entry.isDirectory() ? PRIVATE_DIR : PRIVATE_FILE).catch((err: unknown) => {
        // A lock or temporary file that went away while we walked.
        if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
      });
    }),
  );
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
