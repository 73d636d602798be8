/*
 * A small seeded PRNG for the simulated provider. Math.random cannot be replayed, and the
 * simulator's promise is "same seed, same answers, same faults": every draw comes from a
 * stream seeded by a string such as `42:sim-eu:order-risk:evt-1:2`, so a call is
 * reproducible on its own, whatever ran before it and in whichever order calls interleave.
 */

/** A stream of deterministic random numbers. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

/**
 * A 32-bit hash of a string (cyrb53's mixing, folded to 32 bits): spreads near-identical
 * keys such as `…:attempt-1` and `…:attempt-2` far apart, which a plain sum would not.
 */
export function hashString(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 ^ h2) >>> 0;
}

/**
 * A seeded random stream (mulberry32: tiny, fast, and good enough for simulation — not for
 * anything secret). The seed is hashed, so any string is a good seed.
 *
 * @example
 * const rng = seededRng('42:sim-eu:order-risk:evt-1:1');
 * rng.next();          // same number every run
 * rng.int(40, 120);    // e.g. a latency in ms
 */
export function seededRng(seed: string | number): Rng {
  let state = hashString(String(seed));
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int(min, max) {
      const lo = Math.ceil(Math.min(min, max));
      const hi = Math.floor(Math.max(min, max));
      return hi < lo ? lo : lo + Math.floor(next() * (hi - lo + 1));
    },
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[Math.floor(next() * items.length)] as T;
    },
    chance(p) {
      return next() < p;
    },
  };
}

/** The parts that identify one simulated call. */
export interface CallKey {
  seed: string | number;
  endpointId: string;
  routeId: string;
  eventId: string;
  /** Leave out for draws that should be the same on every attempt (the answer itself). */
  attempt?: number;
}

/**
 * The stream for one purpose (`fault`, `latency`, `output`) of one call. Separate streams
 * mean that turning a fault rate up does not change the latency or the answer of the calls
 * that still succeed. With an attempt number in the key a retry draws afresh; without one,
 * every attempt draws the same.
 *
 * @example callRng({ seed: 42, endpointId: 'sim-eu', routeId: 'order-risk', eventId: 'e-1', attempt: 2 }, 'fault')
 */
export function callRng(key: CallKey, purpose: string): Rng {
  const attempt = key.attempt === undefined ? '' : `:${key.attempt}`;
  return seededRng(`${key.seed}:${key.endpointId}:${key.routeId}:${key.eventId}${attempt}:${purpose}`);
}
