import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidPatternError } from '../../../shared/core/errors.ts';
import { compilePatterns, explainMismatch, readJson, testEventPattern, validatePattern } from '../../../shared/rules/index.ts';

// The tables are data so that a later compiled matcher (and a run against real EventBridge)
// can be checked against the very same expectations. They are read keeping number literals
// exact, as EventBridge reads them, so a case can hold 9007199254740993 or 1e400.
interface ConformanceCase {
  name: string;
  pattern: Record<string, unknown>;
  event: Record<string, unknown>;
  matches: boolean;
}
interface InvalidCase {
  name: string;
  pattern: unknown;
  path: string;
}

const fixtures = new URL('../../fixtures/patterns/', import.meta.url);
const conformance = readJson(readFileSync(new URL('conformance.json', fixtures), 'utf8')) as ConformanceCase[];
const invalid = readJson(readFileSync(new URL('invalid.json', fixtures), 'utf8')) as InvalidCase[];

describe('EventBridge pattern conformance', () => {
  it('keeps at least 150 cases, with unique names, both outcomes and every operator', () => {
    const names = new Set(conformance.map((c) => c.name));
    const used = new Set<string>();
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (typeof value === 'object' && value !== null) {
        for (const [key, inner] of Object.entries(value)) {
          used.add(key);
          collect(inner);
        }
      }
    };
    conformance.forEach((c) => collect(c.pattern));

    expect(conformance.length).toBeGreaterThanOrEqual(150);
    expect(names.size).toBe(conformance.length);
    expect(conformance.some((c) => c.matches) && conformance.some((c) => !c.matches)).toBe(true);
    for (const operator of ['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists', 'wildcard', 'cidr', '$or']) {
      expect(used, `no case uses ${operator}`).toContain(operator);
    }
  });

  describe.each(conformance)('$name', ({ name, pattern, event, matches }) => {
    it(`testEventPattern says ${matches ? 'match' : 'no match'}`, () => {
      expect(testEventPattern(pattern, event)).toBe(matches);
    });

    it('testEventPattern agrees when pattern and event arrive as JSON text', () => {
      expect(testEventPattern(JSON.stringify(pattern), JSON.stringify(event))).toBe(matches);
    });

    it('compilePatterns agrees with the reference interpreter', () => {
      const matcher = compilePatterns({ [name]: pattern });

      expect(matcher.matches(event)).toEqual(matches ? [name] : []);
    });

    it(`explainMismatch ${matches ? 'has nothing to say' : 'gives a reason'}`, () => {
      const reason = explainMismatch(pattern, event);

      if (matches) expect(reason).toBeUndefined();
      else expect(reason).toMatch(/^\S.*: .+/);
    });
  });
});

describe('invalid patterns', () => {
  describe.each(invalid)('$name', ({ pattern, path }) => {
    it(`validatePattern rejects it at "${path}"`, () => {
      const error = catchError(() => validatePattern(pattern));

      expect(error).toBeInstanceOf(InvalidPatternError);
      expect((error as InvalidPatternError).path).toBe(path);
      expect(error?.message.startsWith(path === '' ? '' : `${path}: `)).toBe(true);
    });

    it('testEventPattern rejects it the same way', () => {
      const error = catchError(() => testEventPattern(pattern, { source: 'shop' }));

      expect(error).toBeInstanceOf(InvalidPatternError);
      expect((error as InvalidPatternError).path).toBe(path);
    });

    it('compilePatterns rejects it with the pattern name in front of the path', () => {
      const error = catchError(() => compilePatterns({ ok: { source: ['shop'] }, 'route-x': pattern }));

      expect(error).toBeInstanceOf(InvalidPatternError);
      expect((error as InvalidPatternError).path).toBe(path === '' ? 'route-x' : `route-x.${path}`);
    });
  });
});

function catchError(act: () => unknown): Error | undefined {
  try {
    act();
  } catch (error) {
    return error as Error;
  }
  return undefined;
}

