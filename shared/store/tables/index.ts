// The Azure edge's store: idempotency claims in Azure Table Storage; failures go to the dead-letter subqueue.
export { TableIdempotencyStore, TableStoreError, tableKeys } from './TableIdempotencyStore.ts';
export type { TableIdempotencyStoreOptions } from './TableIdempotencyStore.ts';
export { createTableStore } from './createTableStore.ts';
export { TableApprovalStore } from './TableApprovalStore.ts';
export type { TableApprovalStoreOptions } from './TableApprovalStore.ts';
export type { TableStoreOptions } from './createTableStore.ts';
export { tableClientFromEnv } from './tableClientFromEnv.ts';
export { TableCounters } from './TableCounters.ts';
export type { TableCountersOptions } from './TableCounters.ts';
