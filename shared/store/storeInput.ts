/**
 * Input checks shared by every Store adapter, so that the embedded and the in-memory store
 * accept and refuse exactly the same things (the contract suite runs against both).
 */

/** Milliseconds since the epoch of an ISO 8601 instant; throws a RangeError naming the field. */
export function instantMs(value: string, field: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`${field} must be an ISO 8601 instant, got ${JSON.stringify(value)}`);
  return ms;
}

/** A list limit: absent means no limit; otherwise a whole number ≥ 0. */
export function checkLimit(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number ≥ 0, got ${limit}`);
  return limit;
}

/**
 * A deep copy through JSON: what a persistent store would give back. The in-memory store
 * uses it so callers cannot mutate stored records, and so `undefined` members vanish as
 * they do in the embedded store.
 */
export function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
