/**
 * Usage counters in fixed windows (a UTC minute, hour or day), shared by every instance of an
 * edge: route budgets (`task.budget`) and endpoint rate limits (`models[].limits`) are checked
 * against them before a model call. Each adapter updates a counter atomically in its own store
 * (a conditional update in DynamoDB, an ETag-checked write in Table Storage, one statement in
 * the embedded store), so two instances can never both take the last of a window.
 *
 * A counter is named by `key` (`budget:<route>:tokens`, `limit:<endpoint>:rpm`, …) and the
 * window it counts (its first instant and length, aligned by `counterWindow`): a minute and an
 * hour that start at the same instant are different counters. A window's counter may be
 * dropped by its store once `startMs + lengthMs` has passed (by the store's clock).
 *
 * Every adapter refuses the same bad input with a RangeError (an empty key, a window that is
 * not whole milliseconds with a positive length, an amount or limit that is not finite, a
 * negative amount to `reserve` or a negative limit). A store that cannot be updated throws a
 * retryable MeshError (`StoreUnavailable` in the cloud adapters): never a silent "within the
 * limit". Amounts may be fractional (costs).
 */
export interface UsageCounters {
  /**
   * Add `amount` to the window's counter only if the total stays at or under `limit`.
   * `ok: false` leaves the counter unchanged; `used` is the counter after (or, refused, as it is).
   */
  reserve(key: string, window: CounterWindow, amount: number, limit: number): Promise<{ ok: boolean; used: number }>;
  /** Add `amount` (negative to give back an over-estimate) whatever the total; returns the counter after. Never below 0. */
  adjust(key: string, window: CounterWindow, amount: number): Promise<number>;
  /** The window's counter now (0 when nothing was counted). */
  read(key: string, window: CounterWindow): Promise<number>;
}

export type CounterPeriod = 'minute' | 'hour' | 'day';

/** One window of one period: its first instant and its length, both epoch milliseconds. */
export interface CounterWindow {
  startMs: number;
  lengthMs: number;
}

const PERIOD_MS: Record<CounterPeriod, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** The UTC-aligned window of `period` holding `atMs`. */
export function counterWindow(period: CounterPeriod, atMs: number): CounterWindow {
  const lengthMs = PERIOD_MS[period];
  return { startMs: Math.floor(atMs / lengthMs) * lengthMs, lengthMs };
}

/** When the window holding `atMs` ends, and the next one starts (ISO 8601): when a refused call may be replayed. */
export function windowResetsAt(period: CounterPeriod, atMs: number): string {
  const w = counterWindow(period, atMs);
  return new Date(w.startMs + w.lengthMs).toISOString();
}
