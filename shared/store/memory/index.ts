export type { MemoryStoreOptions } from './createMemoryStore.ts';
export { createMemoryStore } from './createMemoryStore.ts';
