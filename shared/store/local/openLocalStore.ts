import { chmod, mkdir, open, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RetentionSettings } from '../../core/catalogue.ts';
import { systemClock, type Clock } from '../../core/clock.ts';
import { InternalError, MeshError } from '../../core/errors.ts';
import type { Store } from '../../core/ports/Store.ts';
import type { AuditTrail } from '../../core/ports/AuditLog.ts';
import type { UsageCounters } from '../../core/ports/Counters.ts';
import { LegacyStoreError } from '../LegacyStoreError.ts';
import { migrate } from './migrations.ts';
import { sqlApprovals } from './sqlApprovals.ts';
import { sqlAuditLog } from './sqlAuditLog.ts';
import { sqlCounters } from './sqlCounters.ts';
import { sqlEventLog } from './sqlEventLog.ts';
import { sqlFailureLedger } from './sqlFailureLedger.ts';
import { sqlIdempotencyStore } from './sqlIdempotencyStore.ts';
import { openSqlite, type SqliteHandle } from './sqliteClient.ts';
import { pruneSql, type PruneReport } from './sqlRetention.ts';
import { acquireStoreLock } from './storeLock.ts';

/*
 * The embedded store: SQLite through node:sqlite (built into Node, no native build, no
 * download) with its data in `<dir>/mesh.sqlite`, guarded by `<dir>/store.lock` (SQLite
 * would let a second process in, and two processes each believing they hold the claims is
 * exactly what the lock prevents). The queries and schema beside it are written against the
 * SqlClient port; sqliteClient.ts is the only file that imports the database.
 *
 * Costs, measured on a busy 2-core machine (`npm run bench`): an existing store opens in
 * ~4 ms, a new one in 10–90 ms (creating files and the schema, at the disk's pace); an
 * event's writes (claim, input, result, completion) take 0.1–1 ms; the process grows by
 * ~10 MB. See sqliteClient.ts for the durability settings.
 *
 * The store holds every event that passed through, so it is private to its user: the
 * directory is 0700 and its files 0600, whatever the umask, and a store created by an older
 * mesh (0755/0644) is tightened when it is opened. The database file is created 0600
 * before SQLite opens it, because SQLite gives its -wal and -shm files the database file's
 * mode whatever the umask.
 */

/** The database file inside the store directory. */
export const DATABASE_FILE = 'mesh.sqlite';
/** Pages of write-ahead log after which a commit checkpoints it into the database file. */
export const CHECKPOINT_PAGES = 4_000;
/** Where the PGlite-era mesh kept its data; refused with LegacyStoreError. */
const LEGACY_DIR = 'pglite';

export interface LocalStoreOptions {
  /** The store directory (the mesh uses `.mesh/` or `$MESH_HOME`); created when missing. */
  dir: string;
  /** Decides whether idempotency claims have expired, stamps updates and retention. Defaults to the system clock. */
  clock?: Clock;
}

/** The embedded store: the Store port, plus pruning by age. */
export interface LocalStore extends Store {
  /** Usage counters in the same database (sqlCounters.ts): budgets and rate limits of `mesh dev`. */
  counters: UsageCounters;
  /** The audit trail of model invocations (give it to the Pipeline as `audit`); pruned by `retention.auditMs`. */
  audit: AuditTrail;
  /**
   * Deletes inputs and results logged longer ago than `retention.eventsMs`, failures
   * resolved longer ago than `retention.resolvedFailuresMs` and audit records older than
   * `retention.auditMs`; open failures are kept.
   * `dryRun` counts without deleting.
   *
   * @example
   * const report = await store.prune({ eventsMs: 7 * 86_400_000, resolvedFailuresMs: 30 * 86_400_000, auditMs: 365 * 86_400_000 });
   * console.log(`pruned ${report.events} events`);
   */
  prune(retention: RetentionSettings, options?: { dryRun?: boolean }): Promise<PruneReport>;
}

/**
 * Opens (creating if needed) the embedded store in `dir`. One process at a time may hold a
 * directory: a second opener gets a StoreLockedError naming it. A directory holding a store
 * of the PGlite era is refused with LegacyStoreError and left as it is.
 *
 * @example
 * const store = await openLocalStore({ dir: '.mesh' });
 * try {
 *   console.log(await store.events.listEvents({ kind: 'result', limit: 20 }));
 * } finally {
 *   await store.close();
 * }
 */
export async function openLocalStore(options: LocalStoreOptions): Promise<LocalStore> {
  const { dir } = options;
  const clock = options.clock ?? systemClock;
  await makePrivateDir(dir);
  const lock = await acquireStoreLock(dir);

  let sqlite: SqliteHandle | undefined;
  try {
    const file = join(dir, DATABASE_FILE);
    const legacy = join(dir, LEGACY_DIR);
    if (!(await exists(file)) && (await exists(legacy))) throw new LegacyStoreError(dir, legacy);
    await createPrivateFile(file);
    await makePrivateTree(dir);
    sqlite = openSqlite(file, dir);
    await migrate(sqlite.client, clock, dir);
    // The writer checkpoints the log itself, inside the commit that takes it past this many
    // pages (SQLite's default is 1,000): the pages every event rewrites (the log's last leaf,
    // its index, the sequence) are copied once per checkpoint, and the checkpoint's two fsyncs
    // come a quarter as often. The log file stays under ~16 MB.
    await sqlite.client.exec(`PRAGMA wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
    // The -wal and -shm files now exist; tighten them in case they were left by an older run.
    await makePrivateTree(dir);
  } catch (err) {
    sqlite?.close();
    await lock.release();
    if (err instanceof MeshError) throw err;
    throw new InternalError(`could not open the embedded store in ${dir}: ${messageOf(err)}`, { cause: err, context: { dir } });
  }

  const opened = sqlite;
  const db = opened.client;
  let closed: Promise<void> | undefined;
  return {
    idempotency: sqlIdempotencyStore(db, clock),
    failures: sqlFailureLedger(db, clock),
    events: sqlEventLog(db, clock),
    audit: sqlAuditLog(db),
    unitOfWork: (fn) => db.unit(fn),
    approvals: sqlApprovals(db, clock),
    counters: sqlCounters(db, clock),
    prune: (retention, pruneOptions) => pruneSql(db, clock, retention, pruneOptions),
    close: () =>
      (closed ??= (async () => {
        try {
          // Waits for a transaction in flight; plain statements are synchronous and done.
          await db.query('SELECT 1');
          opened.close();
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

/** Creates `file` empty and 0600 when missing (SQLite takes an empty file for an empty database). */
async function createPrivateFile(file: string): Promise<void> {
  const handle = await open(file, 'a', PRIVATE_FILE);
  try {
    // open's mode passes through the umask too.
    if (process.platform !== 'win32') await handle.chmod(PRIVATE_FILE);
  } finally {
    await handle.close();
  }
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

const exists = (path: string) => stat(path).then(
  () => true,
  (err: unknown) => {
    if ((err as { code?: unknown }).code === 'ENOENT') return false;
    throw err;
  },
);

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
