import type { Clock } from '../../core/clock.ts';
import type { CounterWindow, UsageCounters } from '../../core/ports/Counters.ts';
import { checkCounter, windowEndMs } from '../counterInput.ts';
import type { SqlQueryable } from './SqlClient.ts';

/** How often (store clock) the rows of ended windows are deleted, at the next write. */
const PRUNE_EVERY_MS = 60_000;

/**
 * Usage counters in the `counters` table, one row per key and window (its start and length). Each update is ONE
 * statement, so two connections to the same file (or two callers of one connection) can never
 * both take the last unit of a window:
 *
 * - `reserve` inserts the row, or adds to it only when the total stays within the limit
 *   (`ON CONFLICT … DO UPDATE … WHERE used + ? <= ?`); RETURNING yields a row only when it
 *   counted. A refused reserve reads the counter afterwards to say how full it is.
 * - `adjust` adds whatever the total, clamped at 0 by `max(0, used + ?)`.
 *
 * Ended windows are pruned on write rather than by `mesh prune`: at most once a minute, a write
 * first deletes the rows whose window ended by the store's clock (an index on `end_ms`), so the
 * table holds about the current windows however long `mesh dev` runs.
 *
 * @example
 * const counters = sqlCounters(db, systemClock);
 * const w = counterWindow('minute', Date.now());
 * const { ok } = await counters.reserve('limit:bedrock-eu:rpm', w, 1, 60);
 */
export function sqlCounters(db: SqlQueryable, clock: Clock): UsageCounters {
  let prunedAtMs = Number.NEGATIVE_INFINITY;
  const pruneEnded = async () => {
    const now = clock.now().getTime();
    if (now - prunedAtMs < PRUNE_EVERY_MS) return;
    prunedAtMs = now;
    await db.query('DELETE FROM counters WHERE end_ms <= ?', [now]);
  };
  const read = async (key: string, window: CounterWindow) =>
    (await db.query<{ used: number }>('SELECT used FROM counters WHERE key = ? AND window_start_ms = ? AND window_ms = ?', [key, window.startMs, window.lengthMs])).rows[0]?.used ?? 0;

  return {
    async reserve(key, window, amount, limit) {
      checkCounter(key, window, { value: amount, reserve: true }, limit);
      await pruneEnded();
      // A new row is inserted only when the amount alone fits (the VALUES' WHERE); an existing
      // one is updated only when its total would stay within the limit.
      const counted = await db.query<{ used: number }>(
        `INSERT INTO counters (key, window_start_ms, window_ms, end_ms, used)
         SELECT ?, ?, ?, ?, ? WHERE ? <= ?
         ON CONFLICT (key, window_start_ms, window_ms) DO UPDATE SET used = counters.used + excluded.used
           WHERE counters.used + excluded.used <= ?
         RETURNING used`,
        [key, window.startMs, window.lengthMs, windowEndMs(window), amount, amount, limit, limit],
      );
      const row = counted.rows[0];
      if (row) return { ok: true, used: row.used };
      return { ok: false, used: await read(key, window) };
    },

    async adjust(key, window, amount) {
      checkCounter(key, window, { value: amount, reserve: false });
      await pruneEnded();
      const { rows } = await db.query<{ used: number }>(
        `INSERT INTO counters (key, window_start_ms, window_ms, end_ms, used) VALUES (?, ?, ?, ?, max(0, ?))
         ON CONFLICT (key, window_start_ms, window_ms) DO UPDATE SET used = max(0, counters.used + ?)
         RETURNING used`,
        [key, window.startMs, window.lengthMs, windowEndMs(window), amount, amount],
      );
      return rows[0]?.used ?? 0;
    },

    async read(key, window) {
      checkCounter(key, window);
      return read(key, window);
    },
  };
}
