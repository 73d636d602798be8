import { randomUUID } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreLockedError } from '../StoreLockedError.ts';

/** The file that says which process has a store directory open. */
export const LOCK_FILE = 'store.lock';

export interface StoreLock {
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

// Lock files this process holds. A lock naming our own pid that is not in here was left by
// an earlier process that had the same pid (containers restart as pid 1), so it is stale.
const heldHere = new Set<string>();

/**
 * Takes the store directory's lock file, or throws StoreLockedError when a live process
 * holds it. A lock whose process has died (killed, crashed) is stale and taken over.
 *
 * Why a file: the embedded database has no lock of its own, and two processes writing the
 * same data directory corrupt it. The file is created whole by hard-linking a finished
 * temporary file, so a reader never sees it half written. Limits: liveness is judged by
 * pid on this machine only, and two processes taking over the same stale lock at the same
 * instant can race; both are acceptable for a development store.
 */
export async function acquireStoreLock(dir: string): Promise<StoreLock> {
  const path = join(dir, LOCK_FILE);
  if (heldHere.has(path)) throw new StoreLockedError(dir, process.pid);
  // Just the pid, so `cat .mesh/store.lock` tells a person which process to look for.
  const content = `${process.pid}\n`;

  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createExclusive(path, content)) {
      heldHere.add(path);
      return lockHandle(path, content);
    }
    const holder = await readHolder(path);
    if (holder === 'gone') continue;
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) throw new StoreLockedError(dir, holder);
    await removeIfUnchanged(path, holder);
  }
  // Only reached when others keep creating and dropping the lock under us.
  throw new StoreLockedError(dir, undefined);
}

function lockHandle(path: string, content: string): StoreLock {
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= (async () => {
        heldHere.delete(path);
        const now = await readFile(path, 'utf8').catch(() => undefined);
        if (now === content) await unlink(path).catch(ignoreMissing);
      })()),
  };
}

/** True when this call created `path` with `content`; false when it already existed. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, content);
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    // A file system without hard links: fall back to an exclusive create (not atomic in content).
    try {
      await writeFile(path, content, { flag: 'wx' });
      return true;
    } catch (fallbackErr) {
      if (errorCode(fallbackErr) === 'EEXIST') return false;
      throw fallbackErr;
    }
  } finally {
    await unlink(tmp).catch(ignoreMissing);
  }
}

/** The pid in the lock file; undefined when unreadable (taken as stale); 'gone' when it vanished. */
async function readHolder(path: string): Promise<number | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 'gone';
    throw err;
  }
  const pid = /^\s*(\d+)\s*$/.exec(text)?.[1];
  return pid === undefined || Number(pid) === 0 ? undefined : Number(pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return errorCode(err) === 'EPERM';
  }
}

/** Deletes a stale lock unless another process replaced it since we read it. */
async function removeIfUnchanged(path: string, holder: number | undefined): Promise<void> {
  const again = await readHolder(path);
  if (again === 'gone' || again !== holder) return;
  await unlink(path).catch(ignoreMissing);
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function ignoreMissing(err: unknown): void {
  if (errorCode(err) !== 'ENOENT') throw err;
}
