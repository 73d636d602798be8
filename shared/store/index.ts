// The mesh's store: idempotency, failure ledger and event log behind the core's Store port.
export { StoreLockedError } from './StoreLockedError.ts';
export type { LocalStoreOptions } from './local/index.ts';
export { openLocalStore } from './local/index.ts';
export type { MemoryStoreOptions } from './memory/index.ts';
export { createMemoryStore } from './memory/index.ts';
