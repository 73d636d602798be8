import type { Logger } from '../core/logger.ts';
import type { EventLog, FailureLedger } from '../core/ports/Store.ts';

/*
 * For the cloud edges, where the transport keeps failures (Lambda's on-failure destination,
 * the Service Bus dead-letter subqueue) and the bus keeps events (EventBridge archive): the
 * store's ledger and event log only write log lines, and list nothing.
 */

/** A failure ledger that logs each failure with `message`; the transport's dead-letter queue is the real ledger. */
export function logOnlyFailureLedger(logger: Logger, message: string): FailureLedger {
  return {
    async recordFailure(record) {
      logger.warn(message, {
        failureId: record.id,
        routeId: record.routeId,
        eventId: record.eventId,
        code: record.errorCode,
        retryable: record.retryable,
        attempts: record.attempts.length,
      });
    },
    listFailures: async () => [],
    getFailure: async () => undefined,
    resolveFailure: async () => {},
    recordReplay: async () => {},
  };
}

/** An event log that writes a debug line per input and result. */
export function logOnlyEventLog(logger: Logger): EventLog {
  return {
    async append(entry) {
      logger.debug(entry.kind === 'input' ? 'event received' : 'result published', { eventId: entry.eventId, type: entry.type, source: entry.source, routeId: entry.routeId });
    },
    listEvents: async () => [],
  };
}
