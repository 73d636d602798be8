// The mesh's store: idempotency, failure ledger and event log behind the core's Store port.
export { LegacyStoreError } from './LegacyStoreError.ts';
export { StoreLockedError } from './StoreLockedError.ts';
export type { LocalStore, LocalStoreOptions, PruneReport } from './local/index.ts';
export { DATABASE_FILE, openLocalStore } from './local/index.ts';
export type { MemoryStoreOptions } from './memory/index.ts';
export { createMemoryStore } from './memory/index.ts';
