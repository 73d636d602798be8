import type { TableClient } from '@azure/data-tables';
import { silentLogger, type ApprovalStore, type Clock, type IdempotencyStore, type Logger, type Store } from '../../core/index.ts';
import { TableApprovalStore } from './TableApprovalStore.ts';
import { TableCounters } from './TableCounters.ts';
import { TableIdempotencyStore } from './TableIdempotencyStore.ts';
import { logOnlyEventLog, logOnlyFailureLedger } from '../logOnly.ts';

export interface TableStoreOptions {
  /** The idempotency table's client (the usage counters live in it too). Required unless `idempotency` is given. */
  client?: TableClient;
  /** Override the claims entirely (tests: an in-memory store). */
  idempotency?: IdempotencyStore;
  /** Override the held results (tests). Default: in the idempotency table, through `client`. */
  approvals?: ApprovalStore;
  /** Create the idempotency table on first use. Default true (see TableIdempotencyStoreOptions). */
  ensureTable?: boolean;
  clock?: Clock;
  logger?: Logger;
}

/**
 * The Store of the Azure edge. Idempotency, the usage counters and held results
 * (TableApprovalStore) are durable here, in one Table Storage table; the other two parts belong
 * to Service Bus itself:
 * - failures: a failed message is dead-lettered with the mesh error as its reason, so the
 *   dead-letter subqueue is the failure ledger (`ServiceBusDeadLetterReader`). This ledger
 *   only logs, and answers "no earlier failure".
 * - event log: inputs and results are messages on the namespace; this log logs at debug level.
 *
 * @example
 * const store = createTableStore({ client: TableClient.fromConnectionString(cs, 'meshidempotency') });
 */
export function createTableStore(options: TableStoreOptions): Store {
  const logger = options.logger ?? silentLogger;
  const idempotency =
    options.idempotency ??
    new TableIdempotencyStore({
      client: options.client ?? missingClient(),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.ensureTable === undefined ? {} : { ensureTable: options.ensureTable }),
    });
  const approvals =
    options.approvals ?? (options.client ? new TableApprovalStore({ client: options.client, ...(options.ensureTable === undefined ? {} : { ensureTable: options.ensureTable }) }) : undefined);
  // Without a table client (claims overridden) there is nowhere shared to count.
  const counters = options.client ? new TableCounters({ client: options.client, ...(options.ensureTable === undefined ? {} : { ensureTable: options.ensureTable }) }) : undefined;
  return {
    idempotency,
    ...(approvals ? { approvals } : {}),
    ...(counters ? { counters } : {}),
    failures: logOnlyFailureLedger(logger, 'route failed'),
    events: logOnlyEventLog(logger),
    close: async () => {},
  };
}

function missingClient(): never {
  throw new Error('createTableStore: give a TableClient (client) or an idempotency store');
}
