import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshError } from '../../../shared/core/index.ts';
import { DATABASE_FILE, LegacyStoreError, openLocalStore } from '../../../shared/store/index.ts';
import { MIGRATIONS } from '../../../shared/store/local/migrations.ts';

/*
 * The schema is created on first open and brought forward on later ones; a store written
 * by a newer mesh, or by the PGlite-era mesh, is refused rather than misread. The test reads
 * the database file directly to see what the store did to it.
 */

describe('embedded store schema', () => {
  let root = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nearmesh-schema-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** A store created and closed in `root/<name>`. */
  const createdStore = async (name: string) => {
    const dir = join(root, name);
    await (await openLocalStore({ dir })).close();
    return dir;
  };
  const withDatabase = <T>(dir: string, fn: (db: DatabaseSync) => T): T => {
    const db = new DatabaseSync(join(dir, DATABASE_FILE));
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  const versions = (dir: string) =>
    withDatabase(dir, (db) => (db.prepare('SELECT version FROM schema_version ORDER BY version').all() as { version: number }[]).map((r) => r.version));

  it('records each migration once, however often the store is opened, and leaves the file in WAL mode', async () => {
    const dir = await createdStore('reopened');

    await (await openLocalStore({ dir })).close();
    await (await openLocalStore({ dir })).close();

    expect(versions(dir)).toEqual([1, 2, 3, 4, 5]);
    expect(withDatabase(dir, (db) => db.prepare('PRAGMA journal_mode').get())).toEqual({ journal_mode: 'wal' });
  });

  it('brings a store of schema 4 forward keeping its claims and events, and their lookups', async () => {
    // Prepare: a store as the mesh before schema 5 left it, with a completed claim and a logged event pair.
    const dir = join(root, 'schema-4');
    await mkdir(dir, { recursive: true });
    withDatabase(dir, (db) => {
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT');
      for (const m of MIGRATIONS.filter((m) => m.version <= 4)) {
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_version VALUES (?, ?)').run(m.version, '2026-11-01T00:00:00.000Z');
      }
      db.prepare(`INSERT INTO idempotency VALUES ('score:evt-1', 'completed', 'res-1', 'owner-1', 0, 0)`).run();
      const insert = db.prepare('INSERT INTO events (at, logged_at_ms, kind, event_id, type, source, route_id, destination, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
      insert.run('2026-11-01T00:00:00.000Z', 1, 'input', 'evt-1', 'OrderPlaced', 'shop', null, null, '{}');
      insert.run('2026-11-01T00:00:01.000Z', 2, 'result', 'res-1', 'OrderScored', 'nearmesh', 'score', 'local', '{}');
    });

    // Act
    const store = await openLocalStore({ dir });
    try {
      // Assess: the claim still says done (a redelivery gets the result id), the log still lists by kind and route.
      expect(await store.idempotency.begin('score:evt-1', new Date(Date.now() + 60_000))).toEqual({ state: 'completed', resultId: 'res-1' });
      expect((await store.events.listEvents({ kind: 'input' })).map((e) => e.eventId)).toEqual(['evt-1']);
      expect((await store.events.listEvents({ routeId: 'score' })).map((e) => e.eventId)).toEqual(['res-1']);
    } finally {
      await store.close();
    }
    expect(versions(dir)).toEqual([1, 2, 3, 4, 5]);
    const indexes = withDatabase(dir, (db) => (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('events', 'idempotency') ORDER BY name`).all() as { name: string }[]).map((r) => r.name));
    expect(indexes).toEqual(['events_route_seq']);
  });

  it('refuses a store written by a newer mesh, naming it, and lets go of the directory', async () => {
    const dir = await createdStore('newer');
    withDatabase(dir, (db) => db.exec(`INSERT INTO schema_version (version, applied_at) VALUES (99, '2030-01-01T00:00:00.000Z')`));

    const refused = await openLocalStore({ dir }).catch((err: unknown) => err);

    expect(refused).toBeInstanceOf(MeshError);
    expect((refused as Error).message).toMatch(/schema version 99, newer than this mesh knows \(5\)/);
    expect((refused as Error).message).toContain(dir);
    expect(existsSync(join(dir, 'store.lock'))).toBe(false);
  });

  it('refuses a store of the PGlite era with what to do about it, touching nothing, and opens once it is moved aside', async () => {
    // Prepare: a directory as the PGlite-era mesh left it.
    const dir = join(root, 'pglite-era');
    const legacy = join(dir, 'pglite');
    await mkdir(join(legacy, 'base'), { recursive: true });
    await writeFile(join(legacy, 'PG_VERSION'), '17\n');
    const before = (await readdir(dir, { recursive: true })).sort();

    // Act
    const refused = await openLocalStore({ dir }).catch((err: unknown) => err);

    // Assess: a clear, non-retryable error naming the old data, and nothing written.
    expect(refused).toBeInstanceOf(LegacyStoreError);
    expect(refused).toMatchObject({ code: 'LegacyStore', retryable: false, context: { dir, legacyPath: legacy } });
    const message = (refused as Error).message;
    expect(message).toContain('older mesh (PGlite)');
    expect(message).toContain('not migrated');
    expect(message).toContain(`Move ${legacy} aside (or delete it)`);
    expect(message).toMatch(/replay or export .* with the older version first/);
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(before);

    await rename(legacy, join(root, 'pglite-era-old'));
    const store = await openLocalStore({ dir });
    try {
      expect(await store.events.listEvents()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
