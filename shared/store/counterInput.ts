import type { CounterWindow } from '../core/ports/Counters.ts';

/**
 * Input checks shared by every UsageCounters adapter, so that they all refuse the same
 * mistakes the same way (the contract suite runs against each): a counter that one store
 * accepted and another silently mangled would make a budget mean different things per cloud.
 */

/** A counter's key, window and (when given) amount and limit; throws a RangeError naming what is wrong. */
export function checkCounter(key: string, window: CounterWindow, amount?: { value: number; reserve: boolean }, limit?: number): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512) throw new RangeError(`counter key must be a string of 1–512 characters, got ${JSON.stringify(key)}`);
  if (!Number.isSafeInteger(window?.startMs) || !Number.isSafeInteger(window?.lengthMs) || window.lengthMs <= 0) {
    throw new RangeError(`counter window must have whole epoch milliseconds startMs and lengthMs > 0 (use counterWindow()), got ${JSON.stringify(window)}`);
  }
  if (amount) {
    if (!Number.isFinite(amount.value) || (amount.reserve && amount.value < 0)) {
      throw new RangeError(`counter amount must be a finite number${amount.reserve ? ' ≥ 0 (give back with adjust)' : ''}, got ${amount.value}`);
    }
  }
  if (limit !== undefined && (!Number.isFinite(limit) || limit < 0)) throw new RangeError(`counter limit must be a finite number ≥ 0, got ${limit}`);
}

/** When the window ends (epoch milliseconds): from then on its counter may be dropped. */
export function windowEndMs(window: CounterWindow): number {
  return window.startMs + window.lengthMs;
}
