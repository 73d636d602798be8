import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshError } from '../../../shared/core/index.ts';
import { openLocalStore } from '../../../shared/store/index.ts';
import { copyDir } from '../../contract/store/fixtures.ts';

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

    expect(await versions(dir)).toEqual([1, 2]);
  });

  it('refuses a store written by a newer mesh, naming it, and lets go of the directory', async () => {
    const dir = await copyOfTemplate('newer');
    const pg = await PGlite.create(join(dir, 'pglite'));
    await pg.query('INSERT INTO schema_version (version) VALUES (99)');
    await pg.close();

    const refused = await openLocalStore({ dir }).catch((err: unknown) => err);

    expect(refused).toBeInstanceOf(MeshError);
    expect((refused as Error).message).toMatch(/schema version 99, newer than this mesh knows \(2\)/);
    expect((refused as Error).message).toContain(dir);
    expect(existsSync(join(dir, 'store.lock'))).toBe(false);
  });
});
