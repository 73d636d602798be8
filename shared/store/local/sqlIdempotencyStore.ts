import { randomUUID } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import type { IdempotencyBegin, IdempotencyStore } from '../../core/ports/Store.ts';
import { claimLost } from '../claimLost.ts';
import type { SqlQueryable } from './SqlClient.ts';

interface Row {
  status: string;
  result_id: string | null;
}

/**
 * Claims kept in the `idempotency` table. A completed record never expires: the result
 * exists, and a later delivery of the same event must get its id rather than run again.
 *
 * Every write that needs ownership is one conditional statement (`… AND owner = $token`), so
 * a holder that lost its lease cannot overwrite the new owner between a read and a write;
 * the follow-up read only decides which answer to give when the statement matched nothing.
 */
export function sqlIdempotencyStore(db: SqlQueryable, clock: Clock): IdempotencyStore {
  const current = async (key: string): Promise<Row | undefined> =>
    (await db.query<Row>('SELECT status, result_id FROM idempotency WHERE key = $1', [key])).rows[0];

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
      // in-progress claim is taken over (with a new owner), and anything else is left alone.
      for (;;) {
        const now = clock.now();
        const token = randomUUID();
        const claimed = await db.query<{ key: string }>(
          `INSERT INTO idempotency (key, status, result_id, expires_at, updated_at, owner)
           VALUES ($1, 'in-progress', NULL, $2, $3, $4)
           ON CONFLICT (key) DO UPDATE
             SET status = 'in-progress', result_id = NULL, expires_at = EXCLUDED.expires_at,
                 updated_at = EXCLUDED.updated_at, owner = EXCLUDED.owner
             WHERE idempotency.status = 'in-progress' AND idempotency.expires_at <= EXCLUDED.updated_at
           RETURNING key`,
          [key, expiresAt, now, token],
        );
        if (claimed.rows.length > 0) return { state: 'claimed', token };
        const row = await current(key);
        // Released between the two statements: try to claim it again.
        if (!row) continue;
        return row.status === 'completed' ? { state: 'completed', resultId: row.result_id ?? '' } : { state: 'in-progress' };
      }
    },

    async renew(key, token, expiresAt) {
      // An expired lease nobody took over is still the owner's to extend.
      const renewed = await db.query(
        `UPDATE idempotency SET expires_at = $3, updated_at = $4
         WHERE key = $1 AND status = 'in-progress' AND owner = $2
         RETURNING key`,
        [key, token, expiresAt, clock.now()],
      );
      if (renewed.rows.length === 0) throw claimLost(key, 'renew', describe(await current(key)));
    },

    async complete(key, token, resultId) {
      const completed = await db.query(
        `UPDATE idempotency SET status = 'completed', result_id = $3, updated_at = $4
         WHERE key = $1 AND status = 'in-progress' AND owner = $2
         RETURNING key`,
        [key, token, resultId, clock.now()],
      );
      if (completed.rows.length > 0) return;
      const row = await current(key);
      // Completed already with this result (a retried complete): nothing to do.
      if (row?.status === 'completed' && row.result_id === resultId) return;
      throw claimLost(key, 'complete', describe(row));
    },

    async release(key, token) {
      const released = await db.query(`DELETE FROM idempotency WHERE key = $1 AND status = 'in-progress' AND owner = $2 RETURNING key`, [key, token]);
      if (released.rows.length > 0) return;
      const row = await current(key);
      // Missing or completed: nothing of ours to drop. In progress under another owner: fenced.
      if (row?.status === 'in-progress') throw claimLost(key, 'release', describe(row));
    },
  };
}

function describe(row: Row | undefined): string {
  if (!row) return 'nobody holds it';
  return row.status === 'completed' ? 'it is completed' : 'another owner holds it';
}
