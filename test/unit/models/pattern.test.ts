import { describe, expect, it } from 'vitest';
import { seededRng } from '../../../shared/models/index.ts';
import { samplePattern } from '../../../shared/models/simulated/pattern.ts';

describe('samplePattern', () => {
  const SUPPORTED = ['^[A-Z]{3}$', '^INV-\\d{4,6}$', '^(low|medium|high)$', '^[a-z0-9._-]+@example\\.com$', '^[^0-9]{2}\\s?x*$', 'ab?c+', '^(?:P[1-4])$'];

  for (const pattern of SUPPORTED) {
    it(`draws strings that match ${pattern}`, () => {
      const rng = seededRng(pattern);
      const samples = Array.from({ length: 50 }, () => samplePattern(pattern, rng));
      for (const s of samples) expect(s).toMatch(new RegExp(pattern, 'u'));
      expect(new Set(samples).size).toBeGreaterThan(1);
    });
  }

  it('respects a length check the caller passes', () => {
    const rng = seededRng('len');
    for (let i = 0; i < 50; i++) expect(samplePattern('^[a-z]{1,10}$', rng, (s) => s.length <= 3)?.length).toBeLessThanOrEqual(3);
  });

  it('gives up (undefined) on lookaround, backreferences, \\p{…} and invalid patterns', () => {
    const rng = seededRng('no');
    for (const pattern of ['^(?=a)a$', '^(a)\\1$', '^\\p{Lu}$', '^[a-$']) expect(samplePattern(pattern, rng)).toBeUndefined();
  });
});
