export type { MemoryStore, MemoryStoreOptions } from './createMemoryStore.ts';
export { createMemoryStore } from './createMemoryStore.ts';
export { memoryAuditTrail } from './memoryAuditTrail.ts';
export { memoryCounters } from './memoryCounters.ts';
