import type { Clock } from '../../core/clock.ts';
import type { EventLog, EventLogEntry, EventLogFilter } from '../../core/ports/Store.ts';
import { checkLimit } from '../storeInput.ts';
import type { SqlQueryable } from './SqlClient.ts';
import { SqlWhere } from './sqlWhere.ts';

interface EventRow {
  seq: number;
  at: string;
  kind: EventLogEntry['kind'];
  event_id: string;
  type: string;
  source: string;
  route_id: string | null;
  destination: string | null;
  envelope: string;
}

/**
 * The event log in the `events` table. `seq` only ever grows, also across restarts and
 * pruning, but may skip numbers (a failed insert, pruned entries); read it as an order and a
 * cursor (`afterSeq`), not as a count. `clock` stamps when an entry was logged, which
 * retention prunes by.
 */
export function sqlEventLog(db: SqlQueryable, clock: Clock): EventLog {
  return {
    async append(entry) {
      await db.query(
        `INSERT INTO events (at, logged_at_ms, kind, event_id, type, source, route_id, destination, envelope)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          entry.at,
          clock.now().getTime(),
          entry.kind,
          entry.eventId,
          entry.type,
          entry.source,
          entry.routeId ?? null,
          entry.destination ?? null,
          JSON.stringify(entry.envelope),
        ],
      );
    },

    /** In `seq` order: the first `limit` entries after `afterSeq` that pass the filters. */
    async listEvents(filter: EventLogFilter = {}) {
      const limit = checkLimit(filter.limit);
      const where = new SqlWhere();
      if (filter.afterSeq !== undefined) where.add('seq > ?', filter.afterSeq);
      if (filter.kind !== undefined) where.add('kind = ?', filter.kind);
      if (filter.routeId !== undefined) where.add('route_id = ?', filter.routeId);
      const sql = `SELECT seq, at, kind, event_id, type, source, route_id, destination, envelope
        FROM events ${where} ORDER BY seq ${where.limit(limit)}`;
      const { rows } = await db.query<EventRow>(sql, where.params);
      return rows.map(toEntry);
    },
  };
}

function toEntry(row: EventRow): EventLogEntry {
  const entry: EventLogEntry = {
    seq: row.seq,
    at: row.at,
    kind: row.kind,
    eventId: row.event_id,
    type: row.type,
    source: row.source,
    envelope: JSON.parse(row.envelope) as EventLogEntry['envelope'],
  };
  if (row.route_id !== null) entry.routeId = row.route_id;
  if (row.destination !== null) entry.destination = row.destination;
  return entry;
}
