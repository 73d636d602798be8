import type { Clock } from '../../core/clock.ts';
import type { IdempotencyBegin, IdempotencyStore } from '../../core/ports/Store.ts';
import type { SqlQueryable } from './SqlClient.ts';

/**
 * Claims kept in the `idempotency` table. A completed record never expires: the result
 * exists, and a later delivery of the same event must get its id rather than run again.
 */
export function sqlIdempotencyStore(db: SqlQueryable, clock: Clock): IdempotencyStore {
  return {
    async peek(key) {
      const { rows } = await db.query<{ status: string; result_id: string | null; expires_at: Date }>(
        'SELECT status, result_id, expires_at FROM idempotency WHERE key = $1',
        [key],
      );
      const row = rows[0];
      if (!row) return undefined;
      if (row.status === 'completed') return { state: 'completed', resultId: row.result_id ?? '' };
      return new Date(row.expires_at).getTime() > clock.now().getTime() ? { state: 'in-progress' } : undefined;
    },

    async begin(key, expiresAt): Promise<IdempotencyBegin> {
      // One statement, so two callers cannot both claim: a new key is inserted, an expired
      // in-progress claim is taken over, and anything else is left alone (no row returned).
      for (;;) {
        const now = clock.now();
        const claimed = await db.query<{ key: string }>(
          `INSERT INTO idempotency (key, status, result_id, expires_at, updated_at)
           VALUES ($1, 'in-progress', NULL, $2, $3)
           ON CONFLICT (key) DO UPDATE
             SET status = 'in-progress', result_id = NULL, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at
             WHERE idempotency.status = 'in-progress' AND idempotency.expires_at <= EXCLUDED.updated_at
           RETURNING key`,
          [key, expiresAt, now],
        );
        if (claimed.rows.length > 0) return { state: 'claimed' };
        const held = await db.query<{ status: string; result_id: string | null }>(
          'SELECT status, result_id FROM idempotency WHERE key = $1',
          [key],
        );
        const row = held.rows[0];
        // Released between the two statements: try to claim it again.
        if (!row) continue;
        return row.status === 'completed' ? { state: 'completed', resultId: row.result_id ?? '' } : { state: 'in-progress' };
      }
    },

    async complete(key, resultId) {
      const now = clock.now();
      await db.query(
        `INSERT INTO idempotency (key, status, result_id, expires_at, updated_at)
         VALUES ($1, 'completed', $2, $3, $3)
         ON CONFLICT (key) DO UPDATE
           SET status = 'completed', result_id = EXCLUDED.result_id, updated_at = EXCLUDED.updated_at`,
        [key, resultId, now],
      );
    },

    async release(key) {
      await db.query(`DELETE FROM idempotency WHERE key = $1 AND status = 'in-progress'`, [key]);
    },
  };
}
