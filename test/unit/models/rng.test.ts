import { describe, expect, it } from 'vitest';
import { callRng, seededRng } from '../../../shared/models/index.ts';

const draws = (rng: { next(): number }, n = 5) => Array.from({ length: n }, () => rng.next());

describe('seededRng', () => {
  it('replays the same stream for the same seed and a different one for another seed', () => {
    expect(draws(seededRng('42:a'))).toEqual(draws(seededRng('42:a')));
    expect(draws(seededRng('42:a'))).not.toEqual(draws(seededRng('42:b')));
  });

  it('draws in [0, 1) and spreads evenly enough over ten buckets', () => {
    const rng = seededRng(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const x = rng.next();
      expect(x >= 0 && x < 1).toBe(true);
      buckets[Math.floor(x * 10)]!++;
    }
    for (const b of buckets) expect(Math.abs(b - 1000)).toBeLessThan(150);
  });

  it('keeps int() within both inclusive bounds and reaches each of them', () => {
    const rng = seededRng('int');
    const seen = new Set(Array.from({ length: 500 }, () => rng.int(3, 6)));
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });
});

describe('callRng', () => {
  const key = { seed: 42, endpointId: 'sim-eu', routeId: 'order-risk', eventId: 'evt-1' };

  it('draws independently per attempt and per purpose', () => {
    expect(draws(callRng({ ...key, attempt: 1 }, 'fault'))).not.toEqual(draws(callRng({ ...key, attempt: 2 }, 'fault')));
    expect(draws(callRng({ ...key, attempt: 1 }, 'fault'))).not.toEqual(draws(callRng({ ...key, attempt: 1 }, 'latency')));
  });

  it('draws the same for every attempt when the key leaves the attempt out', () => {
    expect(draws(callRng(key, 'output'))).toEqual(draws(callRng({ ...key, attempt: undefined }, 'output')));
    expect(draws(callRng(key, 'output'))).not.toEqual(draws(callRng({ ...key, attempt: 1 }, 'output')));
  });
});
