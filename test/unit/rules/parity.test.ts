import { describe, expect, it } from 'vitest';
import { caseVariants, foldCase } from '../../../shared/rules/caseFold.ts';
import { decimalKey, isExactLiteral } from '../../../shared/rules/jsonNumbers.ts';
import { compilePatterns, readJson, testEventPattern } from '../../../shared/rules/index.ts';

// Where we keep a reading of our own rather than EventBridge's (README, "Event patterns",
// parity table), the decision is pinned here; the cases EventBridge agrees with are in the
// conformance table.
function both(pattern: string, event: string): boolean {
  const viaReference = testEventPattern(pattern, event);
  const viaMatcher = compilePatterns({ r: readJson(pattern) as Record<string, unknown> }).matches(readJson(event)).length === 1;
  expect(viaMatcher).toBe(viaReference);
  return viaReference;
}

describe('EventBridge parity decisions', () => {
  it('compares number literals no double holds by exact value, not by spelling', () => {
    expect(both('{"a": [1e400]}', '{"a": 10e399}')).toBe(true);
    expect(both('{"a": [9007199254740993]}', '{"a": 9007199254740993.0}')).toBe(true);
  });

  it('treats -0 as 0, as its decimal value says', () => {
    expect(both('{"a": [0]}', '{"a": -0}')).toBe(true);
    expect(both('{"a": [{"numeric": ["<", 0]}]}', '{"a": -0.0}')).toBe(false);
  });

  it('keeps dotted field names apart from nested fields', () => {
    expect(both('{"a.b": ["x"]}', '{"a": {"b": "x"}}')).toBe(false);
    expect(both('{"a.b": ["x"]}', '{"a.b": "x"}')).toBe(true);
  });

  it('compares exact string values as strings, even when both spell the same IP address', () => {
    expect(both('{"ip": ["2001:db8::1"]}', '{"ip": "2001:DB8:0:0:0:0:0:1"}')).toBe(false);
  });

  it('keeps cidr families apart: an IPv4 block does not hold an IPv4-mapped IPv6 address', () => {
    expect(both('{"ip": [{"cidr": "10.0.0.0/8"}]}', '{"ip": "::ffff:a00:1"}')).toBe(false);
  });

  it('matches equals-ignore-case on identical text outside the BMP', () => {
    expect(both('{"a": [{"equals-ignore-case": "\\ud83d\\ude00 OK"}]}', '{"a": "\\ud83d\\ude00 ok"}')).toBe(true);
  });

  it('keeps a lone surrogate as itself rather than as "?"', () => {
    expect(both('{"a": [{"prefix": "\\ud83d"}]}', '{"a": "?x"}')).toBe(false);
  });

  it('does not let a quote in a suffix match the end of the value', () => {
    expect(both('{"a": [{"suffix": "\\"abc"}]}', '{"a": "abc"}')).toBe(false);
  });
});

describe('case folding for the index', () => {
  it('gives every case variant of every code point the same key', () => {
    const mismatches: number[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const key = foldCase(c);
      if (foldCase(c.toLowerCase()) !== key || foldCase(c.toUpperCase()) !== key) mismatches.push(cp);
    }

    expect(mismatches).toEqual([]);
  });

  it('never offers two variants of a code point where one begins the other', () => {
    const ambiguous: number[] = [];
    for (let cp = 0x80; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const [lower = '', upper = ''] = caseVariants(String.fromCodePoint(cp)) ?? [];
      if (lower !== upper && (lower.startsWith(upper) || upper.startsWith(lower))) ambiguous.push(cp);
    }

    expect(ambiguous).toEqual([]);
  });
});

describe('exact number literals', () => {
  it('calls a literal exact when its double prints as the same decimal value', () => {
    expect(['5', '5.0', '3.018e2', '0.1', '-0', '1e308', '9007199254740992'].every(isExactLiteral)).toBe(true);
    expect(['9007199254740993', '0.1000000000000000055511151231257827', '1e400', '1e-400'].some(isExactLiteral)).toBe(false);
  });

  it('writes equal values with equal keys', () => {
    expect(decimalKey('300')).toBe(decimalKey('3.0e2'));
    expect(decimalKey('-0.0')).toBe(decimalKey('0'));
    expect(decimalKey('1e400')).toBe(decimalKey('10E399'));
    expect(decimalKey('1e400')).not.toBe(decimalKey('1e399'));
  });
});

describe('messages about number literals', () => {
  it('describes a literal no double holds as the number it spells', () => {
    expect(() => testEventPattern('{"a": 1e400}', '{"a": 1}')).toThrow('a: a pattern leaf must be an array of values or operators, got number 1e400');
  });
});
