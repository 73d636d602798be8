import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePatterns, matchesPattern, readJson, validatePattern } from '../../../shared/rules/index.ts';

// Small vocabularies on purpose: random patterns and events must collide often, or the
// properties would only ever compare "no match" with "no match".
const KEYS = ['a', 'b'];
// Case pairs that are not one letter for one letter (ß/SS, ı/I, the Kelvin sign), a surrogate
// pair and its halves, and numbers no double holds (kept exact as JSON.rawJSON by readJson).
const STRINGS = ['x', 'xy', 'XY', 'y', 'x*y', 'x\\y', '', '10.0.0.1', '10.1.2.3', '2001:db8::1', '2001:DB8:0:0:0:0:0:2',
  'ß', 'SS', 'ss', 'ı', 'I', 'i', '\u212a', 'k', '\ud83d\ude00', '\ud83d', 'x\ud83d\ude00'];
const INEXACT = readJson('[9007199254740993, 1e400, 1e-400, 1E400]') as unknown[];
const NUMBERS = [0, 1, 5, -1, 2.5, 100, 9007199254740992, ...INEXACT];

const scalar = fc.oneof(fc.constantFrom(...STRINGS), fc.constantFrom(...NUMBERS), fc.boolean(), fc.constant(null));
const stringValue = fc.constantFrom(...STRINGS);
const wildcard = fc.constantFrom('x*', '*y', 'x*y', '*', 'x\\*y', '*\\\\y', 'X*', '*.*', '10.*');
const range = fc.oneof(
  fc.tuple(fc.constantFrom('=', '<', '<=', '>', '>='), fc.constantFrom(...NUMBERS)).map(([op, n]) => [op, n]),
  // (inexact operands are refused by validation, so the filter below drops them)
  fc.tuple(fc.constantFrom('>', '>='), fc.constantFrom('<', '<='), fc.integer({ min: -2, max: 5 }), fc.integer({ min: 1, max: 6 }))
    .map(([lo, hi, low, width]) => [lo, low, hi, low + width]),
);

const rule: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: stringValue.map((s) => ({ prefix: s })) },
  { weight: 1, arbitrary: stringValue.map((s) => ({ suffix: s })) },
  { weight: 1, arbitrary: stringValue.map((s) => ({ prefix: { 'equals-ignore-case': s } })) },
  { weight: 1, arbitrary: stringValue.map((s) => ({ suffix: { 'equals-ignore-case': s } })) },
  { weight: 1, arbitrary: stringValue.map((s) => ({ 'equals-ignore-case': s })) },
  { weight: 2, arbitrary: wildcard.map((w) => ({ wildcard: w })) },
  { weight: 2, arbitrary: range.map((r) => ({ numeric: r })) },
  { weight: 1, arbitrary: fc.boolean().map((b) => ({ exists: b })) },
  { weight: 1, arbitrary: fc.constantFrom('10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32', '0.0.0.0/0').map((c) => ({ cidr: c })) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      stringValue,
      fc.constantFrom(...NUMBERS),
      fc.array(stringValue, { minLength: 1, maxLength: 3 }),
      fc.array(fc.constantFrom(...NUMBERS), { minLength: 1, maxLength: 3 }),
      stringValue.map((s) => ({ prefix: s })),
      fc.array(stringValue, { minLength: 1, maxLength: 2 }).map((s) => ({ suffix: s })),
      fc.array(stringValue, { minLength: 1, maxLength: 2 }).map((s) => ({ 'equals-ignore-case': s })),
      fc.array(wildcard, { minLength: 1, maxLength: 2 }).map((w) => ({ wildcard: w })),
    ).map((argument) => ({ 'anything-but': argument })),
  },
);

const leaf = fc.array(rule, { minLength: 1, maxLength: 4 });

const { pattern } = fc.letrec<{ pattern: Record<string, unknown>; field: unknown }>((tie) => ({
  field: fc.oneof({ depthSize: 'xsmall', withCrossShrink: true }, { weight: 3, arbitrary: leaf }, tie('pattern')),
  pattern: fc
    .tuple(
      fc.dictionary(fc.constantFrom(...KEYS), tie('field'), { minKeys: 1, maxKeys: 2 }),
      fc.option(fc.array(tie('pattern'), { minLength: 2, maxLength: 3 }), { freq: 4 }),
    )
    .map(([fields, or]) => (or === null ? fields : { ...fields, $or: or })),
}));

const { event } = fc.letrec<{ event: Record<string, unknown>; value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'xsmall', withCrossShrink: true },
    { weight: 4, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
    { weight: 3, arbitrary: tie('event') },
    { weight: 1, arbitrary: fc.array(tie('event'), { minLength: 1, maxLength: 3 }) },
  ),
  event: fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { minKeys: 1, maxKeys: 2 }),
}));

const validPattern = pattern.filter((p) => {
  try {
    validatePattern(p);
    return true;
  } catch {
    return false;
  }
});

describe('the compiled matcher agrees with the reference interpreter', () => {
  it('on generated routes and events, as objects and as JSON text', () => {
    fc.assert(
      fc.property(fc.array(validPattern, { minLength: 1, maxLength: 12 }), fc.array(event, { minLength: 1, maxLength: 4 }), (patterns, events) => {
        const named = Object.fromEntries(patterns.map((p, i) => [`r${i}`, p]));
        const matcher = compilePatterns(named);
        for (const e of events) {
          const expected = Object.keys(named).filter((name) => matchesPattern(named[name]!, e));
          expect(matcher.matches(e)).toEqual(expected);
          expect(matcher.matches(readJson(JSON.stringify(e)))).toEqual(expected);
          // Text is read as the transports read it: literals no double holds arrive rounded.
          const asDoubles = JSON.parse(JSON.stringify(e)) as unknown;
          expect(matcher.matches(JSON.stringify(e))).toEqual(Object.keys(named).filter((name) => matchesPattern(named[name]!, asDoubles)));
        }
      }),
      { numRuns: 600 },
    );
  });

  it('generates cases where routes do match, so agreement means something', () => {
    const samples = fc.sample(fc.tuple(validPattern, event), 2000);
    const matched = samples.filter(([p, e]) => matchesPattern(p, e)).length;

    expect(matched).toBeGreaterThan(samples.length / 50);
    expect(matched).toBeLessThan(samples.length - samples.length / 20);
  });

  it('when many routes share their values, so the index splits buckets', () => {
    fc.assert(
      fc.property(fc.array(validPattern, { minLength: 20, maxLength: 60 }), fc.array(event, { minLength: 1, maxLength: 8 }), (patterns, events) => {
        const named = Object.fromEntries(patterns.map((p, i) => [`r${i}`, p]));
        const matcher = compilePatterns(named);
        for (const e of events) {
          expect(matcher.matches(e)).toEqual(Object.keys(named).filter((name) => matchesPattern(named[name]!, e)));
        }
      }),
      { numRuns: 80 },
    );
  });
});
