import type { PutEventsEntry } from './codec.ts';

/** PutEvents takes at most this many entries per call. */
export const PUT_EVENTS_MAX_ENTRIES = 10;

/** The entry size limit EventBridge enforces today (256 KB); AWS has announced larger entries, so it is an option. */
export const DEFAULT_MAX_ENTRY_BYTES = 256 * 1024;

/** The whole request is limited too (same 256 KB), counted the same way over all entries. */
export const DEFAULT_MAX_REQUEST_BYTES = 256 * 1024;

/**
 * The size EventBridge charges an entry against its limit, as AWS documents it: 14 bytes
 * for a Time, plus the UTF-8 bytes of Source, DetailType, Detail and every Resource.
 * TraceHeader and EventBusName do not count.
 *
 * @example
 * putEventsEntrySize({ Source: 'a', DetailType: 'b', Detail: '{}' }) // → 4
 */
export function putEventsEntrySize(entry: PutEventsEntry): number {
  let size = entry.Time ? 14 : 0;
  size += Buffer.byteLength(entry.Source, 'utf8');
  size += Buffer.byteLength(entry.DetailType, 'utf8');
  size += Buffer.byteLength(entry.Detail, 'utf8');
  for (const r of entry.Resources ?? []) size += Buffer.byteLength(r, 'utf8');
  return size;
}

/**
 * Split entries into PutEvents calls: at most `maxEntries` each, and no call whose summed
 * entry sizes exceed `maxRequestBytes`. Order is kept; each item keeps its caller's index.
 */
export function batchEntries<T extends { size: number }>(items: T[], maxEntries = PUT_EVENTS_MAX_ENTRIES, maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (current.length >= maxEntries || bytes + item.size > maxRequestBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/*
 * Per-entry error codes EventBridge documents as worth retrying. Anything else (an invalid
 * argument, a source we may not use, a malformed detail) fails the same way again.
 */
const RETRYABLE_ENTRY_CODES = new Set(['InternalFailure', 'InternalException', 'ThrottlingException', 'ServiceUnavailable', 'ServiceUnavailableException']);

/** Whether a failed entry's `ErrorCode` may succeed when sent again. */
export function isRetryableEntryError(code: string | undefined): boolean {
  return code === undefined || RETRYABLE_ENTRY_CODES.has(code);
}
