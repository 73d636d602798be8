import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../shared/core/index.ts';
import { DATABASE_FILE, openLocalStore } from '../../../shared/store/index.ts';

function envelope(i: number): Envelope {
  return {
    event: { specversion: '1.0', id: `e-${i}`, source: 'com.acme.orders', type: 'OrderPlaced', time: '2026-12-02T00:00:00.000Z', datacontenttype: 'application/json', data: { note: 'x'.repeat(2_000), i }, extensions: {} },
    origin: { transport: 'http' },
  } as Envelope;
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('background checkpoints', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('copies the log into the database file from a worker, with no checkpoint in the writer\'s commits, and leaves no log behind on close', async () => {
    dir = await mkdtemp(join(tmpdir(), 'nearmesh-checkpoints-'));
    const store = await openLocalStore({ dir, backgroundCheckpoints: true });
    const file = join(dir, DATABASE_FILE);
    try {
      const before = statSync(file).size;
      // One commit of about 650 pages: under the automatic checkpoint of any writer (1,000 pages
      // by default), which SQLite only considers at a commit.
      await store.unitOfWork!(async () => {
        for (let i = 0; i < 600; i++) {
          await store.events.append({ at: '2026-12-02T00:00:00.000Z', kind: 'input', eventId: `e-${i}`, type: 'OrderPlaced', source: 'com.acme.orders', envelope: envelope(i) });
        }
      });
      // Only a checkpoint writes pages into the database file; the writer did not run one.
      expect(await waitFor(() => statSync(file).size > before + 1_000_000, 5_000)).toBe(true);
      expect((await store.events.listEvents({ limit: 10_000 })).length).toBe(600);
    } finally {
      await store.close();
    }
    expect(existsSync(`${file}-wal`)).toBe(false);
  });
});
