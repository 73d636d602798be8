import { hash, randomUUID } from 'node:crypto';

/** Source of fresh ids (injected so tests are deterministic). */
export interface Ids {
  newId(): string;
}

export const randomIds: Ids = { newId: () => randomUUID() };

/** Ids 1, 2, 3… with a prefix: for tests. */
export function sequentialIds(prefix = 'id-'): Ids {
  let n = 0;
  return { newId: () => `${prefix}${++n}` };
}

/**
 * The id of the result a route produces for an input event: a name-based UUID (version 5
 * layout, SHA-256 based like RFC 9562's v8 guidance allows) over route id + input event id.
 * A retry or a replay of the same event through the same route yields the same id, so
 * downstream duplicate detection (Service Bus messageId, idempotent consumers) works.
 *
 * @example resultId('order-risk', 'e-1') === resultId('order-risk', 'e-1') // true
 */
export function resultId(routeId: string, inputEventId: string): string {
  return nameUuid(`nearmesh:result:${routeId.length}:${routeId}:${inputEventId}`);
}

/** A stable UUID-shaped id for a name (SHA-256, version nibble 8, RFC 9562 variant). */
export function nameUuid(name: string): string {
  // One-shot hash: no Hash object per id (a result id and a failure id per event).
  const h = hash('sha256', name, 'buffer');
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
