import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../../shared/core/index.ts';
import { DATABASE_FILE, openLocalStore, StoreLockedError } from '../../../shared/store/index.ts';

/*
 * SQLite would let a second process open the same database, and two processes each taking
 * claims in one store is what must not happen: the store guards the directory with
 * `store.lock`.
 */

const STORE_INDEX = pathToFileURL(join(import.meta.dirname, '../../../shared/store/index.ts')).href;

/** The pid of a process that has certainly exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

const lockFile = (dir: string) => join(dir, 'store.lock');
const writeLock = (dir: string, pid: number) => writeFile(lockFile(dir), `${pid}\n`);
const lockHolder = async (dir: string) => Number(await readFile(lockFile(dir), 'utf8'));
const exists = (path: string) => stat(path).then(() => true, () => false);

describe('embedded store lock', () => {
  const opened: Store[] = [];
  const scratch: string[] = [];

  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nearmesh-lock-'));
    scratch.push(dir);
    return dir;
  };
  // A store that was created and closed before the test.
  const freshStoreDir = async () => {
    const dir = await tempDir();
    await (await openLocalStore({ dir })).close();
    return dir;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await Promise.all(scratch.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('refuses a second opener in this process, naming the directory, and admits it once the first closes', async () => {
    const dir = await freshStoreDir();
    const first = await openLocalStore({ dir });
    opened.push(first);

    const refused = await openLocalStore({ dir }).catch((err: unknown) => err);
    await first.close();
    const reopened = await openLocalStore({ dir });
    opened.push(reopened);

    expect(refused).toBeInstanceOf(StoreLockedError);
    expect(refused).toMatchObject({ code: 'StoreLocked', retryable: false, dir, pid: process.pid });
    expect((refused as Error).message).toContain(dir);
    expect(await lockHolder(dir)).toBe(process.pid);
  });

  it('refuses a directory another live process holds, before touching its data, and says mesh dev may be running', async () => {
    const dir = await tempDir();
    await writeLock(dir, process.ppid);

    const refused = await openLocalStore({ dir }).catch((err: unknown) => err);

    expect(refused).toBeInstanceOf(StoreLockedError);
    expect(refused).toMatchObject({ pid: process.ppid, context: { dir, pid: process.ppid } });
    expect((refused as Error).message).toMatch(new RegExp(`${dir}.*process ${process.ppid}.*mesh dev`, 's'));
    expect(await exists(join(dir, DATABASE_FILE))).toBe(false);
    expect(await lockHolder(dir)).toBe(process.ppid);
  });

  it('is seen by another process trying to open the same store', { timeout: 60_000 }, async () => {
    const dir = await freshStoreDir();
    opened.push(await openLocalStore({ dir }));
    const script = join(dir, 'second-opener.ts');
    await writeFile(
      script,
      `import { openLocalStore } from ${JSON.stringify(STORE_INDEX)};
       openLocalStore({ dir: process.argv[2] }).then(
         async (s) => { await s.close(); console.log('opened'); },
         (err) => console.log(err.code, err.pid));`,
    );

    const child = spawnSync(process.execPath, ['--import', 'tsx', script, dir], { encoding: 'utf8', timeout: 20_000 });

    expect(child.stdout.trim()).toBe(`StoreLocked ${process.pid}`);
  });

  it('takes over a lock left by a process that has died, and removes it on close', async () => {
    const dir = await freshStoreDir();
    await writeLock(dir, deadPid());

    const store = await openLocalStore({ dir });
    opened.push(store);
    const holderWhileOpen = await lockHolder(dir);
    await store.close();

    expect(holderWhileOpen).toBe(process.pid);
    expect(await exists(lockFile(dir))).toBe(false);
  });

  it('takes over a lock naming this process id that this process does not hold (an earlier process with the same pid)', async () => {
    const dir = await freshStoreDir();
    await writeLock(dir, process.pid);

    const store = await openLocalStore({ dir });
    opened.push(store);

    expect(await store.events.listEvents()).toEqual([]);
  });

  it('takes over a lock file it cannot read', async () => {
    const dir = await freshStoreDir();
    await writeFile(lockFile(dir), 'not json');

    const store = await openLocalStore({ dir });
    opened.push(store);

    expect(await lockHolder(dir)).toBe(process.pid);
  });
});
