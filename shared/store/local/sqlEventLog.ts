import type { EventLog, EventLogEntry, EventLogFilter } from '../../core/ports/Store.ts';
import { checkLimit } from '../storeInput.ts';
import type { SqlQueryable } from './SqlClient.ts';
import { SqlWhere } from './sqlWhere.ts';

interface EventRow {
  seq: number | string | bigint;
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
 * The event log in the `events` table. `seq` comes from a Postgres sequence: it only ever
 * grows, also across restarts, but may skip numbers (a failed insert, a crash); read it as
 * an order and a cursor (`afterSeq`), not as a count.
 */
export function sqlEventLog(db: SqlQueryable): EventLog {
  return {
    async append(entry) {
      await db.query(
        `INSERT INTO events (at, kind, event_id, type, source, route_id, destination, envelope)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json)`,
        [
          entry.at,
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
      const sql = `SELECT seq, at, kind, event_id, type, source, route_id, destination, envelope::text AS envelope
        FROM events ${where} ORDER BY seq ${where.limit(limit)}`;
      const { rows } = await db.query<EventRow>(sql, where.params);
      return rows.map(toEntry);
    },
  };
}

function toEntry(row: EventRow): EventLogEntry {
  const entry: EventLogEntry = {
    seq: Number(row.seq),
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
