import type { ApprovalRecord, ApprovalStore } from '../../core/ports/Approvals.ts';
import { checkLimit, instantMs, jsonCopy } from '../storeInput.ts';

/**
 * Held results in this process only, with the embedded store's semantics: copies in and out,
 * newest held first, and a decision only on a pending record (JavaScript runs one turn at a
 * time, so the check and the write cannot interleave).
 *
 * @example
 * const approvals = memoryApprovals();
 * await approvals.hold(record);
 * await approvals.decide(record.resultId, { status: 'approved', actor: 'ana', at: new Date().toISOString() });
 */
export function memoryApprovals(): ApprovalStore {
  const records = new Map<string, { seq: number; heldMs: number; record: ApprovalRecord }>();
  let seq = 0;
  return {
    async hold(record) {
      if (records.has(record.resultId)) return false;
      records.set(record.resultId, { seq: ++seq, heldMs: instantMs(record.heldAt, 'heldAt'), record: jsonCopy({ ...record, status: 'pending' }) });
      return true;
    },
    async get(resultId) {
      const found = records.get(resultId);
      return found ? jsonCopy(found.record) : undefined;
    },
    async list(filter = {}) {
      const limit = checkLimit(filter.limit);
      const kept = [...records.values()]
        .filter(({ record: r }) => (filter.status === undefined || r.status === filter.status) && (filter.routeId === undefined || r.routeId === filter.routeId))
        .sort((a, b) => b.heldMs - a.heldMs || b.seq - a.seq);
      return (limit === undefined ? kept : kept.slice(0, limit)).map((e) => jsonCopy(e.record));
    },
    async decide(resultId, decision) {
      const found = records.get(resultId);
      if (!found || found.record.status !== 'pending') return { decided: false, record: found ? jsonCopy(found.record) : undefined };
      instantMs(decision.at, 'at');
      found.record = { ...found.record, status: decision.status, decidedAt: decision.at, actor: decision.actor, ...(decision.reason === undefined ? {} : { reason: decision.reason }) };
      return { decided: true, record: jsonCopy(found.record) };
    },
    async reopen(resultId, decision) {
      const found = records.get(resultId);
      const r = found?.record;
      if (!found || !r || r.status !== 'approved' || r.decidedAt !== decision.at || r.actor !== decision.actor) return;
      const { decidedAt: _d, actor: _a, reason: _r, ...pending } = r;
      found.record = { ...pending, status: 'pending' };
    },
  };
}
