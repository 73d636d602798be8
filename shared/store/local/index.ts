export type { LocalStore, LocalStoreOptions } from './openLocalStore.ts';
export { DATABASE_FILE, openLocalStore } from './openLocalStore.ts';
export type { PruneReport } from './sqlRetention.ts';
