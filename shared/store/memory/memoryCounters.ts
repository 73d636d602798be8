import type { CounterWindow, UsageCounters } from '../../core/ports/Counters.ts';

/**
 * Usage counters in this process only (tests, throwaway runs). Windows that ended are dropped
 * as new ones are counted, so a long run keeps only the current windows.
 */
export function memoryCounters(): UsageCounters {
  const counts = new Map<string, { endMs: number; used: number }>();
  const slot = (key: string, window: CounterWindow) => `${window.startMs}:${key}`;
  const dropEnded = (nowMs: number) => {
    for (const [k, v] of counts) if (v.endMs <= nowMs) counts.delete(k);
  };
  const entry = (key: string, window: CounterWindow) => {
    const k = slot(key, window);
    let e = counts.get(k);
    if (!e) {
      dropEnded(window.startMs);
      counts.set(k, (e = { endMs: window.startMs + window.lengthMs, used: 0 }));
    }
    return e;
  };
  return {
    async reserve(key, window, amount, limit) {
      const e = entry(key, window);
      if (e.used + amount > limit) return { ok: false, used: e.used };
      e.used += amount;
      return { ok: true, used: e.used };
    },
    async adjust(key, window, amount) {
      const e = entry(key, window);
      e.used = Math.max(0, e.used + amount);
      return e.used;
    },
    async read(key, window) {
      return counts.get(slot(key, window))?.used ?? 0;
    },
  };
}
