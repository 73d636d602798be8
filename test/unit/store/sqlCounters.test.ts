import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterWindow } from '../../../shared/core/index.ts';
import { DATABASE_FILE, openLocalStore } from '../../../shared/store/index.ts';
import { MIGRATIONS } from '../../../shared/store/local/migrations.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';

/*
 * What the contract suite cannot see of the embedded counters: the rows in the file (ended
 * windows pruned on write), and a store written before counters existed (schema 2) opening,
 * keeping its data and counting.
 */

describe('embedded store usage counters', () => {
  let root = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nearmesh-sqlcounters-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const rows = (dir: string) => {
    const db = new DatabaseSync(join(dir, DATABASE_FILE));
    try {
      return db.prepare('SELECT key, window_start_ms, window_ms, end_ms, used FROM counters ORDER BY window_start_ms, key').all() as { key: string; window_start_ms: number; end_ms: number; used: number }[];
    } finally {
      db.close();
    }
  };

  it('deletes the rows of windows that ended when it next writes, at most once a minute, and keeps the current ones', async () => {
    const dir = join(root, 'prune');
    const clock = new FakeClock('2026-11-22T08:00:10.000Z');
    const store = await openLocalStore({ dir, clock });
    const first = counterWindow('minute', clock.now().getTime());
    const day = counterWindow('day', clock.now().getTime());
    await store.counters.reserve('limit:ep:rpm', first, 1, 10);
    await store.counters.adjust('budget:r:tokens', day, 500);

    // The minute ended, but less than a minute passed since the last prune: the row stays.
    clock.advance(55_000);
    const second = counterWindow('minute', clock.now().getTime());
    await store.counters.reserve('limit:ep:rpm', second, 1, 10);
    await store.close();
    expect(rows(dir).map((r) => [r.key, new Date(r.window_start_ms).toISOString()])).toEqual([
      ['budget:r:tokens', '2026-11-22T00:00:00.000Z'],
      ['limit:ep:rpm', '2026-11-22T08:00:00.000Z'],
      ['limit:ep:rpm', '2026-11-22T08:01:00.000Z'],
    ]);

    // A minute later the next write prunes the ended minutes; the day's counter is still current.
    clock.advance(70_000);
    const reopened = await openLocalStore({ dir, clock });
    await reopened.counters.reserve('limit:ep:rpm', counterWindow('minute', clock.now().getTime()), 1, 10);
    expect(await reopened.counters.read('limit:ep:rpm', first)).toBe(0);
    expect(await reopened.counters.read('budget:r:tokens', day)).toBe(500);
    await reopened.close();
    expect(rows(dir).map((r) => [r.key, new Date(r.window_start_ms).toISOString(), r.used])).toEqual([
      ['budget:r:tokens', '2026-11-22T00:00:00.000Z', 500],
      ['limit:ep:rpm', '2026-11-22T08:02:00.000Z', 1],
    ]);
  });

  it('keeps a refused reserve out of the file: no row for a counter nothing was counted in', async () => {
    const dir = join(root, 'refused');
    const clock = new FakeClock();
    const store = await openLocalStore({ dir, clock });

    expect(await store.counters.reserve('budget:r:tokens', counterWindow('hour', clock.now().getTime()), 2_000, 1_000)).toEqual({ ok: false, used: 0 });
    await store.close();

    expect(rows(dir)).toEqual([]);
  });

  it('opens a store written before counters existed (schema 2), keeping its data, and counts in it', async () => {
    // Prepare: a store as a mesh of schema 2 left it, with one event logged.
    const dir = join(root, 'schema-2');
    await mkdir(dir, { recursive: true });
    const db = new DatabaseSync(join(dir, DATABASE_FILE));
    db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT');
    for (const m of MIGRATIONS.filter((m) => m.version <= 2)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(m.version, '2026-10-01T00:00:00.000Z');
    }
    db.prepare(`INSERT INTO events (at, logged_at_ms, kind, event_id, type, source, envelope) VALUES (?, ?, 'input', 'evt-1', 'OrderPlaced', 'com.example.orders', '{}')`).run(
      '2026-10-01T00:00:00.000Z',
      Date.parse('2026-10-01T00:00:00.000Z'),
    );
    db.close();
    const clock = new FakeClock();

    // Act
    const store = await openLocalStore({ dir, clock });
    try {
      const w = counterWindow('minute', clock.now().getTime());

      // Assess
      expect((await store.events.listEvents()).map((e) => e.eventId)).toEqual(['evt-1']);
      expect(await store.counters.reserve('limit:ep:rpm', w, 1, 1)).toEqual({ ok: true, used: 1 });
      expect(await store.counters.reserve('limit:ep:rpm', w, 1, 1)).toEqual({ ok: false, used: 1 });
    } finally {
      await store.close();
    }
  });
});
