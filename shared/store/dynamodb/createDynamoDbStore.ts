import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { silentLogger, type ApprovalStore, type Clock, type IdempotencyStore, type Logger, type Store } from '../../core/index.ts';
import { DynamoDbApprovalStore } from './DynamoDbApprovalStore.ts';
import { DynamoDbCounters } from './DynamoDbCounters.ts';
import { FencedDynamoDBPersistenceLayer } from './FencedDynamoDBPersistenceLayer.ts';
import { PowertoolsIdempotencyStore } from './PowertoolsIdempotencyStore.ts';
import { logOnlyEventLog, logOnlyFailureLedger } from '../logOnly.ts';

export interface DynamoDbStoreOptions {
  /** The idempotency table (partition key `id`, TTL attribute `expiration`). */
  tableName: string;
  /** Default: an SDK client from the credential chain, honouring AWS_ENDPOINT_URL_DYNAMODB. */
  client?: DynamoDBClient;
  /** Override the claims entirely (tests: an in-memory store). */
  idempotency?: IdempotencyStore;
  /** Override the held results (tests). Default: in the idempotency table, through `client`. */
  approvals?: ApprovalStore;
  /**
   * The usage counters table (MESH_COUNTERS_TABLE: partition key `id`, TTL attribute
   * `expiration`). Absent: the store has no counters, and a mesh with budgets or rate limits
   * cannot start.
   */
  countersTable?: string;
  keyPrefix?: string;
  expiresAfterSeconds?: number;
  /** Decides whether a claim has expired. Default: the system clock. */
  clock?: Clock;
  logger?: Logger;
}

/**
 * The Store of the Lambda edge. Idempotency (DynamoDB through Powertools, with owner-fenced
 * claims) and held results (DynamoDbApprovalStore, in the same table) are durable here; the
 * other two parts belong to AWS itself:
 * - failures: the handler throws when a route fails, so Lambda's on-failure destination (an
 *   SQS queue) holds the original event with the error — that queue is the failure ledger,
 *   read by `mesh failed/replay --source sqs:<url>`. This ledger only logs, and answers
 *   "no earlier failure" (a success cannot resolve a message in a queue).
 * - event log: inputs are kept by the EventBridge archive on the bus, results are on the bus;
 *   this log only logs at debug level.
 *
 * @example
 * const store = createDynamoDbStore({ tableName: process.env.MESH_IDEMPOTENCY_TABLE! });
 */
export function createDynamoDbStore(options: DynamoDbStoreOptions): Store {
  const logger = options.logger ?? silentLogger;
  let client: DynamoDBClient | undefined;
  const sdk = () => (client ??= options.client ?? new DynamoDBClient({}));
  let idempotency = options.idempotency;
  if (!idempotency) {
    const persistence = new FencedDynamoDBPersistenceLayer({ tableName: options.tableName, awsSdkV3Client: sdk() });
    const clock = options.clock;
    idempotency = new PowertoolsIdempotencyStore({
      persistence,
      ...(clock ? { now: () => clock.now().getTime() } : {}),
      ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
      ...(options.expiresAfterSeconds ? { expiresAfterSeconds: options.expiresAfterSeconds } : {}),
    });
  }
  const approvalClient = client ?? options.client;
  const approvals = options.approvals ?? (approvalClient ? new DynamoDbApprovalStore({ client: approvalClient, tableName: options.tableName }) : undefined);
  const counters = options.countersTable ? new DynamoDbCounters({ client: sdk(), tableName: options.countersTable }) : undefined;
  return {
    idempotency,
    ...(approvals ? { approvals } : {}),
    ...(counters ? { counters } : {}),
    failures: logOnlyFailureLedger(logger, 'route failed; the event goes to the on-failure destination'),
    events: logOnlyEventLog(logger),
    close: async () => {
      // A client we were given belongs to the caller.
      if (client && !options.client) client.destroy();
    },
  };
}
