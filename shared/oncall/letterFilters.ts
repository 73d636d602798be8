import { eventMatchesWhere, type WhereClause } from './eventWhere.ts';
import type { DeadLetterView } from './deadLetterView.ts';

/** The filters of `mesh failed`, `mesh replay` and `mesh discard` (the ledger applies them itself, --where aside). */
export interface LetterFilters {
  /** `--where` clauses, parsed: the event must hold every value. */
  whereClauses?: WhereClause[] | undefined;
  route?: string | undefined;
  error?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/**
 * Whether a dead letter passes the filters.
 *
 * @example
 * matchesFilters(view, { route: 'order-risk', whereClauses: [parseWhere('detail.customer.tier=gold')] })
 */
export function matchesFilters(v: DeadLetterView, f: LetterFilters): boolean {
  const at = Date.parse(v.at ?? v.sentAt ?? '');
  if (f.route !== undefined && !v.routeIds.includes(f.route)) return false;
  if (f.error !== undefined && v.errorCode !== f.error) return false;
  if (f.since !== undefined && !(at >= Date.parse(f.since))) return false;
  if (f.until !== undefined && !(at <= Date.parse(f.until))) return false;
  if (f.whereClauses && f.whereClauses.length > 0 && (v.event === undefined || !eventMatchesWhere(v.event, f.whereClauses))) return false;
  return true;
}

