import { describe, expect, it } from 'vitest';
import { InvalidEventError, InvalidPatternError } from '../../../shared/core/errors.ts';
import { testEventPattern } from '../../../shared/rules/index.ts';

function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('testEventPattern', () => {
  it('accepts pattern and event as JSON text, like test-event-pattern', () => {
    const pattern = '{"source": ["shop"], "detail": {"amount": [{"numeric": [">", 100]}]}}';

    expect(testEventPattern(pattern, '{"source": "shop", "detail": {"amount": 250}}')).toBe(true);
    expect(testEventPattern(pattern, '{"source": "shop", "detail": {"amount": 25}}')).toBe(false);
  });

  it('compares numbers by value, whatever their JSON spelling', () => {
    expect(testEventPattern('{"detail": {"n": [5]}}', '{"detail": {"n": 5.0}}')).toBe(true);
    expect(testEventPattern('{"detail": {"n": [{"numeric": ["=", 3.018e2]}]}}', '{"detail": {"n": 301.80}}')).toBe(true);
  });

  it('mixes an object pattern with a JSON text event', () => {
    expect(testEventPattern({ source: ['shop'] }, '{"source": "shop"}')).toBe(true);
  });

  it('rejects a pattern that is not JSON with InvalidPatternError keeping the parse error', () => {
    const error = thrown(() => testEventPattern('{source: [shop]}', '{}'));

    expect(error).toBeInstanceOf(InvalidPatternError);
    expect((error as Error).message).toMatch(/^the pattern is not valid JSON: /);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });

  it('rejects an event that is not JSON with InvalidEventError keeping the parse error', () => {
    const error = thrown(() => testEventPattern('{"source": ["shop"]}', '{"source": '));

    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as Error).message).toMatch(/^the event is not valid JSON: /);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });

  it('validates the pattern before looking at the event', () => {
    const error = thrown(() => testEventPattern({ source: 'shop' }, '{not json'));

    expect(error).toBeInstanceOf(InvalidPatternError);
    expect((error as InvalidPatternError).path).toBe('source');
  });

  it('rejects an event that is JSON but not an object', () => {
    const error = thrown(() => testEventPattern({ source: ['shop'] }, '["shop"]'));

    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as Error).message).toBe('an event must be a JSON object, got array ["shop"]');
  });
});
