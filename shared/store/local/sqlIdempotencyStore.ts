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
 * Claims kept in the `idempotency` table, instants as epoch milliseconds. A completed record
 * never expires: the result exists, and a later delivery of the same event must get its id
 * rather than run again.
 *
 * Every write that needs ownership is one conditional statement (`… AND owner = ?token`), so
 * a holder that lost its lease cannot overwrite the new owner between a read and a write;
 * the follow-up read only decides which answer to give when the statement matched nothing.
 */
export function sqlIdempotencyStore(db: SqlQueryable, clock: Clock): IdempotencyStore {
  const current = async (key: string): Promise<Row | undefined> =>
    (await db.query<Row>('SELECT status, result_id FROM idempotency WHERE key = ?', [key])).rows[0];

  return {
    async peek(key) {
      const { rows } = await db.query<Row & { expires_at_ms: number }>('SELECT status, result_id, expires_at_ms FROM idempotency WHERE key = ?', [key]);
      const row = rows[0];
      if (!row) return undefined;
      if (row.status === 'completed') return { state: 'completed', resultId: row.result_id ?? '' };
      return row.expires_at_ms > clock.now().getTime() ? { state: 'in-progress' } : undefined;
    },

    async begin(key, expiresAt): Promise<IdempotencyBegin> {
      // One statement, so two callers cannot both claim: a new key is inserted, an expired
      // in-progress claim is taken over (with a new owner), and anything else is left alone.
      // RETURNING yields a row only when the insert or the update happened.
      for (;;) {
        const now = clock.now().getTime();
        const token = randomUUID();
        const claimed = await db.query<{ key: string }>(
          `INSERT INTO idempotency (key, status, result_id, owner, expires_at_ms, updated_at_ms)
           VALUES (?, 'in-progress', NULL, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE
             SET status = 'in-progress', result_id = NULL, owner = excluded.owner,
                 expires_at_ms = excluded.expires_at_ms, updated_at_ms = excluded.updated_at_ms
             WHERE idempotency.status = 'in-progress' AND idempotency.expires_at_ms <= excluded.updated_at_ms
           RETURNING key`,
          [key, token, expiresAt.getTime(), now],
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
        `UPDATE idempotency SET expires_at_ms = ?, updated_at_ms = ?
         WHERE key = ? AND status = 'in-progress' AND owner = ?
         RETURNING key`,
        [expiresAt.getTime(), clock.now().getTime(), key, token],
      );
      if (renewed.rows.length === 0) throw claimLost(key, 'renew', describe(await current(key)));
    },

    async complete(key, token, resultId) {
      const completed = await db.query(
        `UPDATE idempotency SET status = 'completed', result_id = ?, updated_at_ms = ?
         WHERE key = ? AND status = 'in-progress' AND owner = ?
         RETURNING key`,
        [resultId, clock.now().getTime(), key, token],
      );
      if (completed.rows.length > 0) return;
      const row = await current(key);
      // Completed already with this result (a retried complete): nothing to do.
      if (row?.status === 'completed' && row.result_id === resultId) return;
      throw claimLost(key, 'complete', describe(row));
    },

    async release(key, token) {
      const released = await db.query(`DELETE FROM idempotency WHERE key = ? AND status = 'in-progress' AND owner = ? RETURNING key`, [key, token]);
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
