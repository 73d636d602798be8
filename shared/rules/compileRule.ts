import { InvalidPatternError } from '../core/errors.ts';
import { isPlainObject, type Leaf } from './eventValues.ts';
import { describeValue, indexPath, joinPath } from './format.ts';
import { cidrMatcher, parseCidr } from './cidr.ts';
import { compileNumericRange } from './numericRange.ts';
import { parseWildcard, wildcardMatcher } from './wildcard.ts';

/**
 * One element of a pattern leaf, validated and turned into what matching needs, with the
 * per-event work (lower-casing, range parsing, set building) already done.
 */
export type CompiledRule =
  | { kind: 'exact'; value: Leaf }
  | { kind: 'exists'; present: boolean }
  | { kind: 'test'; test: (leaf: Leaf) => boolean };

/** The EventBridge operators, in the order error messages list them. */
export const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'anything-but', 'numeric', 'exists', 'cidr'] as const;

/** What anything-but accepts as an object, besides a value or a list of values. */
const ANYTHING_BUT_OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'];

const IGNORE_CASE = 'equals-ignore-case';

export function compileRule(rule: unknown, path: string): CompiledRule {
  if (rule === null || typeof rule === 'string' || typeof rule === 'boolean') return { kind: 'exact', value: rule };
  if (typeof rule === 'number') return { kind: 'exact', value: finite(rule, path) };
  if (!isPlainObject(rule)) {
    throw new InvalidPatternError(
      `a pattern value must be a string, number, boolean, null or an operator object, got ${describeValue(rule)}`,
      path,
    );
  }
  const [operator, argument] = singleEntry(rule, path, 'an operator object');
  const at = joinPath(path, operator);
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return { kind: 'test', test: affixTest(operator, argument, at) };
    case IGNORE_CASE: {
      const wanted = lower(requireString(argument, at, `${IGNORE_CASE} expects a string`));
      return { kind: 'test', test: (leaf) => typeof leaf === 'string' && lower(leaf) === wanted };
    }
    case 'wildcard': {
      const matches = wildcardMatcher(parseWildcard(requireString(argument, at, 'wildcard expects a string'), at));
      return { kind: 'test', test: (leaf) => typeof leaf === 'string' && matches(leaf) };
    }
    case 'cidr': {
      const inBlock = cidrMatcher(parseCidr(requireString(argument, at, 'cidr expects a string'), at));
      return { kind: 'test', test: (leaf) => typeof leaf === 'string' && inBlock(leaf) };
    }
    case 'anything-but':
      return { kind: 'test', test: anythingButTest(argument, at) };
    case 'numeric': {
      const range = compileNumericRange(argument, at);
      return { kind: 'test', test: (leaf) => typeof leaf === 'number' && range(leaf) };
    }
    case 'exists':
      if (typeof argument !== 'boolean') {
        throw new InvalidPatternError(`exists expects true or false, got ${describeValue(argument)}`, at);
      }
      return { kind: 'exists', present: argument };
    default:
      throw unknownOperator(operator, at);
  }
}

function affixTest(operator: 'prefix' | 'suffix', argument: unknown, at: string): (leaf: Leaf) => boolean {
  const expected = `${operator} expects a string or {"${IGNORE_CASE}": string}`;
  const hasAffix =
    operator === 'prefix' ? (s: string, a: string) => s.startsWith(a) : (s: string, a: string) => s.endsWith(a);
  if (typeof argument === 'string') return (leaf) => typeof leaf === 'string' && hasAffix(leaf, argument);
  if (!isPlainObject(argument)) throw new InvalidPatternError(`${expected}, got ${describeValue(argument)}`, at);
  const [modifier, value] = singleEntry(argument, at, `the ${operator} object`);
  if (modifier !== IGNORE_CASE) throw new InvalidPatternError(`${expected}, got key "${modifier}"`, joinPath(at, modifier));
  const affix = lower(requireString(value, joinPath(at, modifier), expected));
  return (leaf) => typeof leaf === 'string' && hasAffix(lower(leaf), affix);
}

function anythingButTest(argument: unknown, at: string): (leaf: Leaf) => boolean {
  if (isPlainObject(argument)) {
    const [operator, value] = singleEntry(argument, at, 'the anything-but object');
    const inner = joinPath(at, operator);
    if (!ANYTHING_BUT_OPERATORS.includes(operator)) {
      throw new InvalidPatternError(
        `anything-but accepts a value, a list of values, or one of ${ANYTHING_BUT_OPERATORS.join(', ')}; got operator "${operator}"`,
        inner,
      );
    }
    // Each of these is a string operator: a non-string value is never "anything but" it.
    const values = stringList(value, inner, `anything-but ${operator}`);
    const where = (i: number) => (Array.isArray(value) ? indexPath(inner, i) : inner);
    const excluded = excludedStrings(operator, values, where);
    return (leaf) => typeof leaf === 'string' && !excluded(leaf);
  }
  const values = Array.isArray(argument) ? argument : [argument];
  if (values.length === 0) throw new InvalidPatternError('anything-but expects a non-empty list, got an empty array', at);
  values.forEach((v, i) => {
    if (typeof v !== 'string' && typeof v !== 'number') {
      const where = Array.isArray(argument) ? indexPath(at, i) : at;
      throw new InvalidPatternError(`anything-but values must be strings or numbers, got ${describeValue(v)}`, where);
    }
    if (typeof v === 'number') finite(v, at);
  });
  const kinds = new Set(values.map((v) => typeof v));
  if (kinds.size > 1) {
    throw new InvalidPatternError(`an anything-but list must hold only strings or only numbers, got ${describeValue(argument)}`, at);
  }
  // Set membership is SameValueZero: 5 and 5.0 are one number, "5" and 5 stay apart.
  const excluded = new Set<unknown>(values);
  return (leaf) => !excluded.has(leaf);
}

/** A predicate for "is excluded" by anything-but's prefix, suffix, equals-ignore-case or wildcard list. */
function excludedStrings(operator: string, values: string[], where: (i: number) => string): (leaf: string) => boolean {
  switch (operator) {
    case 'prefix':
      return (leaf) => values.some((v) => leaf.startsWith(v));
    case 'suffix':
      return (leaf) => values.some((v) => leaf.endsWith(v));
    case IGNORE_CASE: {
      const lowered = new Set(values.map(lower));
      return (leaf) => lowered.has(lower(leaf));
    }
    default: {
      const matchers = values.map((v, i) => wildcardMatcher(parseWildcard(v, where(i))));
      return (leaf) => matchers.some((matches) => matches(leaf));
    }
  }
}

/** `"a"` or `["a", "B"]`: anything-but's string operators may exclude several strings. */
function stringList(value: unknown, path: string, what: string): string[] {
  const expected = `${what} expects a string or a non-empty list of strings`;
  if (!Array.isArray(value)) return [requireString(value, path, expected)];
  if (value.length === 0) throw new InvalidPatternError(`${expected}, got an empty array`, path);
  return value.map((v, i) => requireString(v, indexPath(path, i), expected));
}

function singleEntry(object: Record<string, unknown>, path: string, what: string): [string, unknown] {
  const entries = Object.entries(object);
  const [first] = entries;
  if (entries.length !== 1 || first === undefined) {
    const keys = entries.length === 0 ? '' : ` (${entries.map(([k]) => k).join(', ')})`;
    throw new InvalidPatternError(`${what} must have exactly one key, got ${entries.length}${keys}`, path);
  }
  return first;
}

function unknownOperator(operator: string, at: string): InvalidPatternError {
  return new InvalidPatternError(`unknown operator "${operator}"; expected one of ${OPERATORS.join(', ')}`, at);
}

function requireString(value: unknown, path: string, expected: string): string {
  if (typeof value !== 'string') throw new InvalidPatternError(`${expected}, got ${describeValue(value)}`, path);
  return value;
}

function finite(value: number, path: string): number {
  if (!Number.isFinite(value)) throw new InvalidPatternError(`numbers in a pattern must be finite, got ${value}`, path);
  return value;
}

function lower(text: string): string {
  return text.toLowerCase();
}
