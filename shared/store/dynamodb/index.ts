// The Lambda edge's store: idempotency claims in DynamoDB through Powertools; failures go to the on-failure destination.
export { createDynamoDbStore } from './createDynamoDbStore.ts';
export { DynamoDbApprovalStore } from './DynamoDbApprovalStore.ts';
export type { DynamoDbApprovalStoreOptions } from './DynamoDbApprovalStore.ts';
export type { DynamoDbStoreOptions } from './createDynamoDbStore.ts';
export { PowertoolsIdempotencyStore, IdempotencyStoreError } from './PowertoolsIdempotencyStore.ts';
export type { PowertoolsIdempotencyStoreOptions } from './PowertoolsIdempotencyStore.ts';
export { FencedDynamoDBPersistenceLayer, OwnedIdempotencyRecord } from './FencedDynamoDBPersistenceLayer.ts';
export type { FencedDynamoDBPersistenceOptions, FencedOutcome } from './FencedDynamoDBPersistenceLayer.ts';
export { DynamoDbCounters } from './DynamoDbCounters.ts';
export type { DynamoDbCountersOptions } from './DynamoDbCounters.ts';
