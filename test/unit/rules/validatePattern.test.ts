import { describe, expect, it } from 'vitest';
import { InvalidPatternError } from '../../../shared/core/errors.ts';
import { readJson, validatePattern } from '../../../shared/rules/index.ts';

function rejection(pattern: unknown): InvalidPatternError {
  try {
    validatePattern(pattern);
  } catch (error) {
    if (error instanceof InvalidPatternError) return error;
    throw error;
  }
  throw new Error('expected the pattern to be rejected');
}

// The path of each rejection is pinned by the invalid-pattern table; these pin the wording,
// which is what an integrator reads when a route file does not load.
describe('validatePattern', () => {
  it('accepts a pattern using every supported operator', () => {
    const pattern = {
      source: ['shop', { prefix: 'shop.' }, { suffix: { 'equals-ignore-case': '.ORDERS' } }],
      detail: {
        state: [{ 'anything-but': ['stopped', 'failed'] }, { 'equals-ignore-case': 'RUNNING' }],
        amount: [{ numeric: ['>', 0, '<=', 5000] }],
        note: [null, '', { exists: false }],
        $or: [{ paid: [true] }, { region: [{ 'anything-but': { prefix: 'us-' } }] }],
      },
    };

    expect(() => validatePattern(pattern)).not.toThrow();
  });

  it('rejects a leaf that is not an array, naming the path and what it got', () => {
    const error = rejection({ detail: { amount: 5 } });

    expect(error.message).toBe('detail.amount: a pattern leaf must be an array of values or operators, got number 5');
    expect(error.path).toBe('detail.amount');
    expect(error.code).toBe('InvalidPattern');
    expect(error.retryable).toBe(false);
  });

  it('accepts wildcard, cidr and every anything-but form', () => {
    const pattern = {
      source: [{ wildcard: 'shop.*.orders' }, { wildcard: 'literal\\*star\\\\' }],
      detail: {
        ip: [{ cidr: '10.0.0.0/8' }, { cidr: '2001:db8::/32' }],
        path: [{ 'anything-but': { wildcard: ['*/lib/*', '*.jar'] } }, { 'anything-but': { prefix: ['tmp', 'cache'] } }],
        state: [{ 'anything-but': { suffix: '.bak' } }, { 'anything-but': { 'equals-ignore-case': ['Stopped', 'FAILED'] } }],
      },
    };

    expect(() => validatePattern(pattern)).not.toThrow();
  });

  it('rejects consecutive wildcards, quoting the value', () => {
    expect(rejection({ source: [{ wildcard: 'shop.**' }] }).message).toBe(
      'source[0].wildcard: consecutive wildcard characters ("**") are not allowed, in "shop.**"',
    );
  });

  it('rejects a backslash that escapes anything but * or a backslash', () => {
    expect(rejection({ source: [{ wildcard: 'a\\b' }] }).message).toContain('a backslash in a wildcard may only escape');
  });

  it('rejects a cidr prefix length beyond the address family', () => {
    expect(rejection({ detail: { ip: [{ cidr: '10.0.0.0/33' }] } }).message).toBe(
      'detail.ip[0].cidr: cidr needs a prefix length from 0 to 31 after "/", got "10.0.0.0/33"',
    );
  });

  it('rejects a cidr that is not an IP block', () => {
    expect(rejection({ detail: { ip: [{ cidr: 'example.com/8' }] } }).message).toBe(
      'detail.ip[0].cidr: cidr expects an IPv4 or IPv6 block such as "10.0.0.0/24", got "example.com/8"',
    );
  });

  it('lists the known operators when it meets an unknown one', () => {
    expect(rejection({ source: [{ contains: 'shop' }] }).message).toBe(
      'source[0].contains: unknown operator "contains"; expected one of prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr',
    );
  });

  it('names the keys of an operator object with more than one', () => {
    expect(rejection({ source: [{ prefix: 'a', suffix: 'b' }] }).message).toBe(
      'source[0]: an operator object must have exactly one key, got 2 (prefix, suffix)',
    );
  });

  it('explains a numeric range whose bounds are in the wrong order', () => {
    expect(rejection({ detail: { amount: [{ numeric: ['>', 10, '<', 5] }] } }).message).toBe(
      'detail.amount[0].numeric: bad range: the lower bound 10 must be below the upper bound 5 (in [">", 10, "<", 5])',
    );
  });

  it('refuses a numeric range written upper bound first, as EventBridge does', () => {
    expect(rejection({ detail: { amount: [{ numeric: ['<=', 5, '>', 0] }] } }).message).toBe(
      'detail.amount[0].numeric: a range needs a lower bound (">" or ">=") followed by an upper bound ("<" or "<=") (in ["<=", 5, ">", 0])',
    );
  });

  it('refuses a full-length cidr mask and says to match the address exactly', () => {
    expect(rejection({ detail: { ip: [{ cidr: '10.0.0.1/32' }] } }).message).toBe(
      'detail.ip[0].cidr: cidr needs a prefix length from 0 to 31 after "/", got "10.0.0.1/32"; for the single address, match "10.0.0.1" as an exact value',
    );
  });

  it('refuses a numeric operand no double holds, naming the nearest double', () => {
    expect(rejection(readJson('{"detail": {"n": [{"numeric": [">", 9007199254740993]}]}}')).message).toBe(
      'detail.n[0].numeric: numeric ">" compares numbers as doubles, and no double is exactly 9007199254740993 (the nearest is 9007199254740992)',
    );
  });

  it('refuses an empty anything-but prefix, which would exclude every string', () => {
    expect(rejection({ detail: { s: [{ 'anything-but': { prefix: '' } }] } }).message).toBe(
      'detail.s[0].anything-but.prefix: anything-but prefix must not be empty (it would exclude every string)',
    );
  });

  it('refuses an operator name as a field inside $or', () => {
    expect(rejection({ $or: [{ numeric: [1] }, { b: [2] }] }).message).toBe(
      '$or[0].numeric: "numeric" is reserved by EventBridge and cannot name a field inside $or',
    );
  });

  it('names the allowed comparators when it meets an unknown one', () => {
    expect(rejection({ detail: { amount: [{ numeric: ['!=', 5] }] } }).message).toContain(
      'unknown comparator "!="; expected one of "=", "<", "<=", ">", ">="',
    );
  });

  it('rejects a numeric operand that is a string', () => {
    expect(rejection({ detail: { amount: [{ numeric: ['>', '5'] }] } }).message).toContain(
      'the operand of ">" must be a number, got string "5"',
    );
  });

  it('rejects an exists that is not a boolean', () => {
    expect(rejection({ detail: { x: [{ exists: 'true' }] } }).message).toBe(
      'detail.x[0].exists: exists expects true or false, got string "true"',
    );
  });

  it('rejects an anything-but list mixing strings and numbers', () => {
    expect(rejection({ detail: { x: [{ 'anything-but': ['a', 1] }] } }).message).toBe(
      'detail.x[0].anything-but: an anything-but list must hold only strings or only numbers, got array ["a", 1]',
    );
  });

  it('rejects an $or with a single alternative', () => {
    expect(rejection({ $or: [{ source: ['a'] }] }).message).toBe(
      '$or: must be an array of at least 2 pattern objects, got array [{"source": ["a"]}]',
    );
  });

  it('rejects a pattern that is not an object, with an empty path', () => {
    const error = rejection('source');

    expect(error.message).toBe('an event pattern must be a JSON object, got string "source"');
    expect(error.path).toBe('');
  });
});
