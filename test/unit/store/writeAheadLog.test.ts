import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../shared/core/index.ts';
import { DATABASE_FILE, openLocalStore } from '../../../shared/store/index.ts';
import { CHECKPOINT_PAGES } from '../../../shared/store/local/openLocalStore.ts';

/*
 * The writer checkpoints its own log (SQLite's automatic checkpoint, at CHECKPOINT_PAGES): a
 * store written for a long time keeps a log of bounded size, not one that grows with every
 * event, and leaves none behind when it closes.
 */

function envelope(i: number): Envelope {
  return {
    event: { specversion: '1.0', id: `e-${i}`, source: 'com.acme.orders', type: 'OrderPlaced', time: '2026-12-02T00:00:00.000Z', datacontenttype: 'application/json', data: { note: 'x'.repeat(4_000), i }, extensions: {} },
    origin: { transport: 'http' },
  } as Envelope;
}

describe('write-ahead log', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stays bounded while events are written one commit each, and is gone after close', async () => {
    dir = await mkdtemp(join(tmpdir(), 'nearmesh-wal-'));
    const store = await openLocalStore({ dir });
    const file = join(dir, DATABASE_FILE);
    let largestLog = 0;
    try {
      // About 7,000 pages (~28 MB) of events, one unit of work (one commit) each, as mesh dev writes them.
      for (let i = 0; i < 6_000; i++) {
        await store.unitOfWork!(() => store.events.append({ at: '2026-12-02T00:00:00.000Z', kind: 'input', eventId: `e-${i}`, type: 'OrderPlaced', source: 'com.acme.orders', envelope: envelope(i) }));
        if (i % 100 === 0) largestLog = Math.max(largestLog, statSync(`${file}-wal`).size);
      }
      expect(statSync(file).size).toBeGreaterThan(20_000_000);
      // The log was reused after each checkpoint: CHECKPOINT_PAGES pages of 4 KiB and their frame headers (and one commit more), not 28 MB.
      expect(largestLog).toBeLessThan((CHECKPOINT_PAGES + 10) * (4096 + 24) + 32);
      expect((await store.events.listEvents({ limit: 10_000 })).length).toBe(6_000);
    } finally {
      await store.close();
    }
    expect(existsSync(`${file}-wal`)).toBe(false);
  });
});
