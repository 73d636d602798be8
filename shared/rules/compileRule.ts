import { InvalidPatternError } from '../core/errors.ts';
import { isPlainObject, type Leaf } from './eventValues.ts';
import { describeValue, indexPath, joinPath } from './format.ts';
import { compileNumericRange } from './numericRange.ts';

/**
 * One element of a pattern leaf, validated and turned into what matching needs, with the
 * per-event work (lower-casing, range parsing, set building) already done.
 */
export type CompiledRule =
  | { kind: 'exact'; value: Leaf }
  | { kind: 'exists'; present: boolean }
  | { kind: 'test'; test: (leaf: Leaf) => boolean };

/** Operators the mesh understands today, in the order error messages list them. */
export const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists'] as const;

/** Real EventBridge operators we have not built yet: refusing them beats silently never matching. */
const NOT_YET = new Set(['wildcard', 'cidr']);

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
    if (operator === 'prefix' || operator === 'suffix') {
      const test = affixTest(operator, value, inner);
      return (leaf) => typeof leaf === 'string' && !test(leaf);
    }
    if (operator === IGNORE_CASE) {
      const excluded = new Set(ignoreCaseList(value, inner).map(lower));
      return (leaf) => typeof leaf === 'string' && !excluded.has(lower(leaf));
    }
    if (NOT_YET.has(operator)) throw notYet(operator, inner);
    throw new InvalidPatternError(
      `anything-but accepts a value, a list of values, or one of prefix, suffix, ${IGNORE_CASE}; got operator "${operator}"`,
      inner,
    );
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

/** `"a"` or `["a", "B"]`: anything-but may exclude several strings regardless of case. */
function ignoreCaseList(value: unknown, path: string): string[] {
  const expected = `${IGNORE_CASE} expects a string or a non-empty list of strings`;
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
  if (NOT_YET.has(operator)) return notYet(operator, at);
  return new InvalidPatternError(`unknown operator "${operator}"; expected one of ${OPERATORS.join(', ')}`, at);
}

function notYet(operator: string, at: string): InvalidPatternError {
  return new InvalidPatternError(
    `the "${operator}" operator is not supported yet; use exact values, prefix, suffix or equals-ignore-case`,
    at,
  );
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
