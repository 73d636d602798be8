import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClaimLostError, MeshError } from '../../../shared/core/index.ts';
import { openLocalStore } from '../../../shared/store/index.ts';
import { copyDir } from '../../contract/store/fixtures.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';

/*
 * The schema is created on first open and brought forward on later ones; a store written
 * by a newer mesh is refused rather than misread. The test reads the database directly to
 * see what the store did to it.
 */

describe('embedded store schema', () => {
  let root = '';
  let template = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nearmesh-schema-'));
    template = join(root, 'template');
    await (await openLocalStore({ dir: template })).close();
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const copyOfTemplate = async (name: string) => {
    const dir = join(root, name);
    await mkdir(dir);
    await copyDir(join(template, 'pglite'), join(dir, 'pglite'));
    return dir;
  };
  const versions = async (dir: string) => {
    const pg = await PGlite.create(join(dir, 'pglite'));
    try {
      return (await pg.query<{ version: number }>('SELECT version FROM schema_version ORDER BY version')).rows.map((r) => r.version);
    } finally {
      await pg.close();
    }
  };

  it('records each migration once, however often the store is opened', async () => {
    const dir = await copyOfTemplate('reopened');

    await (await openLocalStore({ dir })).close();
    await (await openLocalStore({ dir })).close();

    expect(await versions(dir)).toEqual([1, 2, 3]);
  });

  it('refuses a store written by a newer mesh, naming it, and lets go of the directory', async () => {
    const dir = await copyOfTemplate('newer');
    const pg = await PGlite.create(join(dir, 'pglite'));
    await pg.query('INSERT INTO schema_version (version) VALUES (99)');
    await pg.close();

    const refused = await openLocalStore({ dir }).catch((err: unknown) => err);

    expect(refused).toBeInstanceOf(MeshError);
    expect((refused as Error).message).toMatch(/schema version 99, newer than this mesh knows \(3\)/);
    expect((refused as Error).message).toContain(dir);
    expect(existsSync(join(dir, 'store.lock'))).toBe(false);
  });

  it('upgrades a store written before claims had owners: results stay, old claims expire and are taken over', async () => {
    // Prepare: a store as the previous release left it (schema 2, no owner column), holding a
    // completed claim and an in-progress one whose process died.
    const dir = await copyOfTemplate('before-owners');
    const pg = await PGlite.create(join(dir, 'pglite'));
    await pg.exec(`
      DELETE FROM schema_version WHERE version = 3;
      ALTER TABLE idempotency DROP COLUMN owner;
      INSERT INTO idempotency (key, status, result_id, expires_at, updated_at) VALUES
        ('r:done', 'completed', 'res-1', '2026-11-22T07:00:00Z', '2026-11-22T07:00:00Z'),
        ('r:held', 'in-progress', NULL, '2026-11-22T08:00:30Z', '2026-11-22T07:59:30Z');
    `);
    await pg.close();
    const clock = new FakeClock('2026-11-22T08:00:00.000Z');

    // Act
    const store = await openLocalStore({ dir, clock });
    try {
      // Assess
      expect(await store.idempotency.begin('r:done', new Date('2026-11-22T08:01:00Z'))).toEqual({ state: 'completed', resultId: 'res-1' });
      expect(await store.idempotency.begin('r:held', new Date('2026-11-22T08:01:00Z'))).toEqual({ state: 'in-progress' });
      await expect(store.idempotency.complete('r:held', 'any-token', 'res-x')).rejects.toBeInstanceOf(ClaimLostError);
      clock.advance(30_000);
      const taken = await store.idempotency.begin('r:held', new Date('2026-11-22T08:01:30Z'));
      expect(taken).toEqual({ state: 'claimed', token: expect.any(String) });
      await store.idempotency.complete('r:held', (taken as { token: string }).token, 'res-2');
      expect(await store.idempotency.peek('r:held')).toEqual({ state: 'completed', resultId: 'res-2' });
    } finally {
      await store.close();
    }
    expect(await versions(dir)).toEqual([1, 2, 3]);
  });
});
