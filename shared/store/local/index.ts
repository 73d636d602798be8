export type { LocalStoreOptions } from './openLocalStore.ts';
export { openLocalStore } from './openLocalStore.ts';
