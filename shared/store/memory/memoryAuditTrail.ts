import type { AuditEntry, AuditFilter, AuditTrail } from '../../core/ports/AuditLog.ts';
import { checkLimit, instantMs, jsonCopy } from '../storeInput.ts';

/**
 * The audit trail in this process only, with the embedded store's semantics: newest first
 * (by `at`, then the later record), `since` inclusive, copies in and out.
 *
 * @example
 * const audit = memoryAuditTrail();
 * await audit.record(entry);
 * await audit.listAudit({ routeId: 'order-risk', limit: 10 });
 */
export function memoryAuditTrail(): AuditTrail {
  const entries: Array<{ seq: number; atMs: number; entry: AuditEntry }> = [];
  let seq = 0;
  return {
    async record(entry) {
      entries.push({ seq: ++seq, atMs: instantMs(entry.at, 'at'), entry: jsonCopy(entry) });
    },
    async listAudit(filter: AuditFilter = {}) {
      const limit = checkLimit(filter.limit);
      const sinceMs = filter.since === undefined ? undefined : instantMs(filter.since, 'since');
      const kept = entries
        .filter((e) => (filter.routeId === undefined || e.entry.routeId === filter.routeId) && (sinceMs === undefined || e.atMs >= sinceMs))
        .sort((a, b) => b.atMs - a.atMs || b.seq - a.seq);
      return (limit === undefined ? kept : kept.slice(0, limit)).map((e) => jsonCopy(e.entry));
    },
  };
}
