import { systemClock, type Clock } from '../../core/clock.ts';
import type { CounterWindow, UsageCounters } from '../../core/ports/Counters.ts';
import { checkCounter } from '../counterInput.ts';

/**
 * Usage counters in this process only (tests, throwaway runs). Windows that ended by `clock`
 * are dropped as new ones are counted, so a long run keeps only the current windows.
 */
export function memoryCounters(clock: Clock = systemClock): UsageCounters {
  const counts = new Map<string, { endMs: number; used: number }>();
  // A minute and an hour that start at the same instant are different windows.
  const slot = (key: string, window: CounterWindow) => `${window.startMs}+${window.lengthMs}:${key}`;
  const dropEnded = (nowMs: number) => {
    for (const [k, v] of counts) if (v.endMs <= nowMs) counts.delete(k);
  };
  const entry = (key: string, window: CounterWindow) => {
    const k = slot(key, window);
    let e = counts.get(k);
    if (!e) {
      dropEnded(clock.now().getTime());
      counts.set(k, (e = { endMs: window.startMs + window.lengthMs, used: 0 }));
    }
    return e;
  };
  return {
    async reserve(key, window, amount, limit) {
      checkCounter(key, window, { value: amount, reserve: true }, limit);
      const e = entry(key, window);
      if (e.used + amount > limit) return { ok: false, used: e.used };
      e.used += amount;
      return { ok: true, used: e.used };
    },
    async adjust(key, window, amount) {
      checkCounter(key, window, { value: amount, reserve: false });
      const e = entry(key, window);
      e.used = Math.max(0, e.used + amount);
      return e.used;
    },
    async read(key, window) {
      checkCounter(key, window);
      return counts.get(slot(key, window))?.used ?? 0;
    },
  };
}
