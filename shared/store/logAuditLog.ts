import { AUDIT_MARKER, type AuditLog } from '../core/ports/AuditLog.ts';
import type { Logger } from '../core/logger.ts';

/*
 * For the cloud edges, where the log is the audit store: CloudWatch Logs for a Lambda,
 * Application Insights (or Log Analytics) for a Function App. Each record is one structured
 * line with the stable `audit` marker, so a saved query finds every one and nothing else
 * (see the README's Audit section for the Logs Insights and KQL queries).
 */

/**
 * An audit log that writes each record as one info line `model invocation` with the fields
 * `audit: "nearmesh.model-invocation.v1"` and the entry's own. Give it a logger whose level
 * lets info through whatever the edge's operational level is: an audit trail that a log
 * level can switch off is not one.
 *
 * @example
 * const audit = logAuditLog(jsonLogger({ level: 'info', write: (line) => process.stdout.write(line + '\n') }));
 * new Pipeline({ ...options, audit });
 * // {"level":"info","time":"…","message":"model invocation","audit":"nearmesh.model-invocation.v1","routeId":"order-risk",…}
 */
export function logAuditLog(logger: Logger): AuditLog {
  return {
    async record(entry) {
      logger.info('model invocation', { audit: AUDIT_MARKER, ...entry });
    },
  };
}
