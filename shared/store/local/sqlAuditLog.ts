import type { AuditEntry, AuditFilter, AuditTrail } from '../../core/ports/AuditLog.ts';
import { checkLimit, instantMs } from '../storeInput.ts';
import type { SqlQueryable } from './SqlClient.ts';
import { SqlWhere } from './sqlWhere.ts';

interface AuditRow {
  at: string;
  route_id: string;
  event_id: string;
  endpoint: string;
  provider: string;
  model: string;
  cloud: string;
  region: string | null;
  attempt: number;
  data_location: string;
  data_location_source: AuditEntry['dataLocationSource'];
  classification: string;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  outcome: AuditEntry['outcome'];
  error_code: string | null;
  latency_ms: number;
}

const COLUMNS = `at, route_id, event_id, endpoint, provider, model, cloud, region, attempt, data_location, data_location_source,
  classification, input_tokens, output_tokens, cost_usd, outcome, error_code, latency_ms`;

/**
 * The audit trail in the `audit` table: one row per model invocation attempt, one column per
 * field (no JSON: the trail is read by filters and by people, never holds content, and a
 * column is what a `WHERE` needs). Listed newest first, `since` inclusive. Retention prunes it
 * by `at` on its own window (`retention.audit`, a year by default): an audit outlives the
 * events it describes.
 *
 * @example
 * const audit = sqlAuditLog(db);
 * await audit.record(entry);
 * await audit.listAudit({ routeId: 'order-risk', since: '2026-05-01T00:00:00Z', limit: 50 });
 */
export function sqlAuditLog(db: SqlQueryable): AuditTrail {
  return {
    async record(entry) {
      await db.query(`INSERT INTO audit (at_ms, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        instantMs(entry.at, 'at'),
        entry.at,
        entry.routeId,
        entry.eventId,
        entry.endpoint,
        entry.provider,
        entry.model,
        entry.cloud,
        entry.region,
        entry.attempt,
        entry.dataLocation,
        entry.dataLocationSource,
        entry.classification,
        entry.tokens?.input ?? null,
        entry.tokens?.output ?? null,
        entry.costUsd,
        entry.outcome,
        entry.errorCode,
        Math.round(entry.latencyMs),
      ]);
    },

    async listAudit(filter: AuditFilter = {}) {
      const limit = checkLimit(filter.limit);
      const where = new SqlWhere();
      if (filter.routeId !== undefined) where.add('route_id = ?', filter.routeId);
      if (filter.since !== undefined) where.add('at_ms >= ?', instantMs(filter.since, 'since'));
      const { rows } = await db.query<AuditRow>(`SELECT ${COLUMNS} FROM audit ${where} ORDER BY at_ms DESC, seq DESC ${where.limit(limit)}`, where.params);
      return rows.map(toEntry);
    },
  };
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    at: row.at,
    routeId: row.route_id,
    eventId: row.event_id,
    endpoint: row.endpoint,
    provider: row.provider,
    model: row.model,
    cloud: row.cloud,
    region: row.region,
    attempt: row.attempt,
    dataLocation: row.data_location,
    dataLocationSource: row.data_location_source,
    classification: row.classification,
    tokens: row.input_tokens === null || row.output_tokens === null ? null : { input: row.input_tokens, output: row.output_tokens },
    costUsd: row.cost_usd,
    outcome: row.outcome,
    errorCode: row.error_code,
    latencyMs: row.latency_ms,
  };
}
