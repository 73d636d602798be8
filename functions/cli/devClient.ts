import { randomBytes } from 'node:crypto';
import { chmod, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/** What `mesh dev` writes while it runs, so other commands go through its admin API. */
export interface DevInfo {
  pid: number;
  port: number;
  url: string;
  startedAt: string;
  /** The admin API's bearer token; the file is readable by its owner only. */
  token: string;
}

/** A fresh admin token for one run of `mesh dev`. */
export function newAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

const FILE = 'dev.json';

export async function writeDevInfo(home: string, info: DevInfo): Promise<void> {
  await mkdir(home, { recursive: true });
  const file = join(home, FILE);
  await writeFile(file, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  // `mode` applies to a new file only; an older dev.json keeps its mode otherwise.
  await chmod(file, 0o600);
}

export async function removeDevInfo(home: string): Promise<void> {
  await rm(join(home, FILE), { force: true });
}

/** The running `mesh dev` for this store, or undefined (a stale file from a killed process is ignored). */
export async function findRunningDev(home: string): Promise<DevInfo | undefined> {
  let info: DevInfo;
  try {
    info = JSON.parse(await readFile(join(home, FILE), 'utf8')) as DevInfo;
  } catch {
    return undefined;
  }
  try {
    process.kill(info.pid, 0);
  } catch {
    return undefined;
  }
  try {
    const res = await fetch(`${info.url}/_mesh/health`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Call the admin API; a non-2xx answer becomes an Error with the server's message. */
export async function adminRequest<T>(dev: DevInfo, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${dev.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${dev.token}` } });
  const body = (await res.json()) as T & { message?: string; error?: string };
  if (!res.ok) throw new Error(`mesh dev (${dev.url}) answered ${res.status} ${body.error ?? ''}: ${body.message ?? ''}`.trim());
  return body;
}
