import type { Clock } from '../../core/clock.ts';
import type { ApprovalRecord, ApprovalStore } from '../../core/ports/Approvals.ts';
import { checkLimit, instantMs } from '../storeInput.ts';
import type { SqlQueryable } from './SqlClient.ts';
import { SqlWhere } from './sqlWhere.ts';

interface ApprovalRow {
  result_id: string;
  route_id: string;
  input_id: string;
  held_at: string;
  status: ApprovalRecord['status'];
  result: string;
  destinations: string;
  decided_at: string | null;
  actor: string | null;
  reason: string | null;
}

const COLUMNS = 'result_id, route_id, input_id, held_at, status, result, destinations, decided_at, actor, reason';

/**
 * Held results in the `approvals` table; `clock` stamps when a decision was recorded, which
 * retention counts from (decided records go with resolved failures). Each change is one conditional statement
 * (`… WHERE status = 'pending'`), so of two approvals racing for one record exactly one
 * updates a row; RETURNING says which.
 *
 * @example
 * const approvals = sqlApprovals(db);
 * const { decided } = await approvals.decide(id, { status: 'approved', actor: 'ana', at: new Date().toISOString() });
 */
export function sqlApprovals(db: SqlQueryable, clock: Clock): ApprovalStore {
  const get = async (resultId: string) => {
    const { rows } = await db.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approvals WHERE result_id = ?`, [resultId]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  };
  return {
    async hold(record) {
      const { rows } = await db.query(
        `INSERT INTO approvals (result_id, seq, route_id, input_id, held_at, held_at_ms, status, result, destinations)
         VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM approvals), ?, ?, ?, ?, 'pending', ?, ?)
         ON CONFLICT (result_id) DO NOTHING
         RETURNING result_id`,
        [record.resultId, record.routeId, record.inputId, record.heldAt, instantMs(record.heldAt, 'heldAt'), JSON.stringify(record.result), JSON.stringify(record.destinations)],
      );
      return rows.length > 0;
    },
    get,
    async list(filter = {}) {
      const limit = checkLimit(filter.limit);
      const where = new SqlWhere();
      if (filter.status !== undefined) where.add('status = ?', filter.status);
      if (filter.routeId !== undefined) where.add('route_id = ?', filter.routeId);
      const { rows } = await db.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approvals ${where} ORDER BY held_at_ms DESC, seq DESC ${where.limit(limit)}`, where.params);
      return rows.map(toRecord);
    },
    async decide(resultId, decision) {
      instantMs(decision.at, 'at');
      const { rows } = await db.query<ApprovalRow>(
        `UPDATE approvals SET status = ?, decided_at = ?, decided_at_ms = ?, actor = ?, reason = ?
         WHERE result_id = ? AND status = 'pending'
         RETURNING ${COLUMNS}`,
        [decision.status, decision.at, clock.now().getTime(), decision.actor, decision.reason ?? null, resultId],
      );
      if (rows[0]) return { decided: true, record: toRecord(rows[0]) };
      return { decided: false, record: await get(resultId) };
    },
    async reopen(resultId, decision) {
      await db.query(
        `UPDATE approvals SET status = 'pending', decided_at = NULL, decided_at_ms = NULL, actor = NULL, reason = NULL
         WHERE result_id = ? AND status = 'approved' AND decided_at = ? AND actor = ?`,
        [resultId, decision.at, decision.actor],
      );
    },
  };
}

function toRecord(row: ApprovalRow): ApprovalRecord {
  return {
    resultId: row.result_id,
    routeId: row.route_id,
    inputId: row.input_id,
    heldAt: row.held_at,
    status: row.status,
    result: JSON.parse(row.result) as ApprovalRecord['result'],
    destinations: JSON.parse(row.destinations) as ApprovalRecord['destinations'],
    ...(row.decided_at === null ? {} : { decidedAt: row.decided_at }),
    ...(row.actor === null ? {} : { actor: row.actor }),
    ...(row.reason === null ? {} : { reason: row.reason }),
  };
}
