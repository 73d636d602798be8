import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE, openLocalStore } from '../../../shared/store/index.ts';
import { entry } from '../../contract/store/fixtures.ts';

/*
 * The embedded store holds every event that passed through it: other local users must not
 * read it. The test looks at the modes on disk, whatever the umask of the process running it.
 */

const mode = async (path: string) => (await stat(path)).mode & 0o777;

/** Every path under `dir` with its mode, directories and files apart. */
async function modes(dir: string): Promise<{ dirs: Map<string, number>; files: Map<string, number> }> {
  const dirs = new Map<string, number>();
  const files = new Map<string, number>();
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isDirectory()) dirs.set(path, await mode(path));
    else if (entry.isFile()) files.set(path, await mode(path));
  }
  return { dirs, files };
}

describe.skipIf(process.platform === 'win32')('embedded store permissions', () => {
  let root = '';
  let template = '';
  const umask = process.umask();
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nearmesh-perms-'));
    template = join(root, 'template');
    await (await openLocalStore({ dir: template })).close();
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('creates a new store private to its user: the directory 0700, every file 0600, whatever the umask', async () => {
    const dir = join(root, 'project', '.mesh');
    process.umask(0o000);
    let store;
    try {
      store = await openLocalStore({ dir });
    } finally {
      process.umask(umask);
    }
    try {
      // Written while open, so SQLite's write-ahead log and its index exist too.
      await store.events.append(entry());
      expect(await mode(dir)).toBe(0o700);
      const { dirs, files } = await modes(dir);
      expect([...files.keys()].map((f) => f.slice(dir.length + 1)).sort()).toEqual([DATABASE_FILE, `${DATABASE_FILE}-shm`, `${DATABASE_FILE}-wal`, 'store.lock']);
      expect([...dirs.entries()].filter(([, m]) => m !== 0o700)).toEqual([]);
      expect([...files.entries()].filter(([, m]) => m !== 0o600)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('tightens a store an older mesh left readable (0755 directories, 0644 files) when it is opened', async () => {
    const dir = join(root, 'older');
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await copyFile(join(template, DATABASE_FILE), join(dir, DATABASE_FILE));
    await mkdir(join(dir, 'exports'));
    await writeFile(join(dir, 'exports', 'old.json'), '[]');
    await writeFile(join(dir, 'notes.txt'), 'left by an older mesh');
    const before = await modes(dir);
    for (const path of before.dirs.keys()) await chmod(path, 0o755);
    for (const path of before.files.keys()) await chmod(path, 0o644);

    await (await openLocalStore({ dir })).close();

    expect(await mode(dir)).toBe(0o700);
    const after = await modes(dir);
    expect([...after.dirs.entries()].filter(([, m]) => m !== 0o700)).toEqual([]);
    expect([...after.files.entries()].filter(([, m]) => m !== 0o600)).toEqual([]);
    expect(after.files.get(join(dir, 'notes.txt'))).toBe(0o600);
  });
});
