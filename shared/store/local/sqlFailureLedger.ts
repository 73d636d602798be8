import type { Clock } from '../../core/clock.ts';
import type { FailureFilter, FailureLedger, FailureRecord, ReplayRecord } from '../../core/ports/Store.ts';
import { checkLimit, instantMs } from '../storeInput.ts';
import type { SqlQueryable } from './SqlClient.ts';
import { SqlWhere } from './sqlWhere.ts';

interface FailureRow {
  id: string;
  at: string;
  event_id: string;
  route_id: string | null;
  error_code: string;
  message: string;
  retryable: number;
  attempts: string;
  placement: string | null;
  envelope: string;
  status: FailureRecord['status'];
  failures: number;
}

const COLUMNS = 'id, at, event_id, route_id, error_code, message, retryable, attempts, placement, envelope, status, failures';

/**
 * The failure ledger in the `failures` table; one row per ledger id (route + event). JSON
 * columns are text written by JSON.stringify and parsed here, so what comes back is exactly
 * what went in. `clock` stamps when a failure was resolved, which retention counts from.
 */
export function sqlFailureLedger(db: SqlQueryable, clock: Clock): FailureLedger {
  return {
    async recordFailure(record) {
      const atMs = instantMs(record.at, 'at');
      // A repeat failure keeps the original event, route and event id (the replayable
      // original) and takes the latest error, attempts and placement; it is open again.
      await db.query(
        `INSERT INTO failures (id, at, at_ms, event_id, route_id, error_code, message, retryable,
                               attempts, placement, envelope, status, failures)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET
           at = excluded.at, at_ms = excluded.at_ms, error_code = excluded.error_code,
           message = excluded.message, retryable = excluded.retryable, attempts = excluded.attempts,
           placement = excluded.placement, status = 'open', resolved_at_ms = NULL,
           failures = failures.failures + 1`,
        [
          record.id,
          record.at,
          atMs,
          record.eventId,
          record.routeId ?? null,
          record.errorCode,
          record.message,
          record.retryable ? 1 : 0,
          JSON.stringify(record.attempts),
          record.placement === undefined ? null : JSON.stringify(record.placement),
          JSON.stringify(record.envelope),
          record.status,
          record.failures,
        ],
      );
    },

    async listFailures(filter: FailureFilter = {}) {
      const limit = checkLimit(filter.limit);
      const where = new SqlWhere();
      if (filter.routeId !== undefined) where.add('route_id = ?', filter.routeId);
      if (filter.errorCode !== undefined) where.add('error_code = ?', filter.errorCode);
      if (filter.status !== undefined) where.add('status = ?', filter.status);
      if (filter.since !== undefined) where.add('at_ms >= ?', instantMs(filter.since, 'since'));
      if (filter.until !== undefined) where.add('at_ms <= ?', instantMs(filter.until, 'until'));
      const sql = `SELECT ${COLUMNS} FROM failures ${where} ORDER BY at_ms DESC, id DESC ${where.limit(limit)}`;
      const { rows } = await db.query<FailureRow>(sql, where.params);
      return rows.map(toRecord);
    },

    async getFailure(id) {
      const { rows } = await db.query<FailureRow>(`SELECT ${COLUMNS} FROM failures WHERE id = ?`, [id]);
      if (!rows[0]) return undefined;
      const record = toRecord(rows[0]);
      const history = await db.query<{ record: string }>('SELECT record FROM replays WHERE failure_id = ? ORDER BY seq', [id]);
      if (history.rows.length > 0) record.replays = history.rows.map((r) => JSON.parse(r.record) as ReplayRecord);
      return record;
    },

    async recordReplay(id, replay) {
      // INSERT … SELECT: nothing is written for an unknown failure id.
      await db.query('INSERT INTO replays (failure_id, record) SELECT id, ? FROM failures WHERE id = ?', [JSON.stringify(replay), id]);
    },

    async resolveFailure(id) {
      // Resolving again keeps the first resolution time: retention counts from it.
      await db.query(
        `UPDATE failures SET status = 'resolved', resolved_at_ms = coalesce(resolved_at_ms, ?) WHERE id = ?`,
        [clock.now().getTime(), id],
      );
    },
  };
}

function toRecord(row: FailureRow): FailureRecord {
  const record: FailureRecord = {
    id: row.id,
    at: row.at,
    eventId: row.event_id,
    errorCode: row.error_code,
    message: row.message,
    retryable: row.retryable === 1,
    attempts: JSON.parse(row.attempts) as FailureRecord['attempts'],
    envelope: JSON.parse(row.envelope) as FailureRecord['envelope'],
    status: row.status,
    failures: row.failures,
  };
  if (row.route_id !== null) record.routeId = row.route_id;
  if (row.placement !== null) record.placement = JSON.parse(row.placement) as FailureRecord['placement'];
  return record;
}
