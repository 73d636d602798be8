import type { Clock } from '../../core/clock.ts';
import type { RetentionSettings } from '../../core/catalogue.ts';
import type { SqlClient } from './SqlClient.ts';

/** What a prune deleted (or, in a dry run, would delete). */
export interface PruneReport {
  dryRun: boolean;
  /** Inputs and results logged before `eventsBefore`. */
  events: number;
  eventsBefore: string;
  /** Failures resolved before `resolvedFailuresBefore`, each with its replay history. */
  resolvedFailures: number;
  resolvedFailuresBefore: string;
  /** Held results approved or rejected before `resolvedFailuresBefore` (pending ones are kept). */
  decidedApprovals: number;
  /** Audit records of model calls made before `auditBefore`. */
  audit: number;
  auditBefore: string;
}

/**
 * Deletes the inputs and results logged longer ago than `retention.eventsMs` and the failures
 * resolved longer ago than `retention.resolvedFailuresMs` (their replays go with them through
 * the foreign key), and the audit records of model calls made longer ago than
 * `retention.auditMs`. Held results decided longer ago than `retention.resolvedFailuresMs` go
 * too. Open failures and pending approvals are never deleted: they are the work still to do. Claims
 * are kept too, so a late redelivery of a pruned event still finds its result id.
 *
 * Events are deleted as a prefix of the log: those before the first one logged at or after
 * the cutoff. An entry logged before the cutoff but after a newer one (the clock stepped back)
 * waits for a later prune. The other deletes run on an index of their time column. All run in
 * one transaction, so a crash leaves either everything or nothing pruned. SQLite reuses the freed pages for new
 * entries; the file does not shrink.
 */
export async function pruneSql(db: SqlClient, clock: Clock, retention: RetentionSettings, { dryRun = false } = {}): Promise<PruneReport> {
  checkWindow(retention.eventsMs, 'eventsMs');
  checkWindow(retention.resolvedFailuresMs, 'resolvedFailuresMs');
  checkWindow(retention.auditMs, 'auditMs');
  const now = clock.now().getTime();
  const eventsBefore = now - retention.eventsMs;
  const failuresBefore = now - retention.resolvedFailuresMs;
  const auditBefore = now - retention.auditMs;
  return db.transaction(async (tx) => {
    const count = async (sql: string, before: number) => (await tx.query<{ n: number }>(sql, [before])).rows[0]?.n ?? 0;
    // Events go in log order: everything before the first entry logged at or after the cutoff.
    // The scan stops there, so it reads only what it deletes (no index on the log time).
    const first = (await tx.query<{ seq: number }>('SELECT seq FROM events WHERE logged_at_ms >= ? ORDER BY seq LIMIT 1', [eventsBefore])).rows[0]?.seq;
    const eventsEnd = first ?? Number.MAX_SAFE_INTEGER;
    const events = await count('SELECT count(*) AS n FROM events WHERE seq < ?', eventsEnd);
    const resolvedFailures = await count(`SELECT count(*) AS n FROM failures WHERE status = 'resolved' AND resolved_at_ms < ?`, failuresBefore);
    const audit = await count('SELECT count(*) AS n FROM audit WHERE at_ms < ?', auditBefore);
    const decidedApprovals = await count(`SELECT count(*) AS n FROM approvals WHERE status <> 'pending' AND decided_at_ms < ?`, failuresBefore);
    if (!dryRun) {
      if (events > 0) await tx.query('DELETE FROM events WHERE seq < ?', [eventsEnd]);
      if (resolvedFailures > 0) await tx.query(`DELETE FROM failures WHERE status = 'resolved' AND resolved_at_ms < ?`, [failuresBefore]);
      if (audit > 0) await tx.query('DELETE FROM audit WHERE at_ms < ?', [auditBefore]);
      if (decidedApprovals > 0) await tx.query(`DELETE FROM approvals WHERE status <> 'pending' AND decided_at_ms < ?`, [failuresBefore]);
    }
    return {
      dryRun,
      events,
      eventsBefore: new Date(eventsBefore).toISOString(),
      resolvedFailures,
      resolvedFailuresBefore: new Date(failuresBefore).toISOString(),
      decidedApprovals,
      audit,
      auditBefore: new Date(auditBefore).toISOString(),
    };
  });
}

function checkWindow(ms: number, field: string): void {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`retention ${field} must be a whole number of milliseconds ≥ 0, got ${ms}`);
}
