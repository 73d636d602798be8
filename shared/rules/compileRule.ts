import { InvalidPatternError } from '../core/errors.ts';
import { caseVariants } from './caseFold.ts';
import { isPlainObject, type Leaf } from './eventValues.ts';
import { decimalKey, exactOperand, isExactLiteral, isNumberLiteral } from './jsonNumbers.ts';
import { describeValue, indexPath, joinPath } from './format.ts';
import { parseCidr } from './cidr.ts';
import { compileNumericRange } from './numericRange.ts';
import { Op, ruleTest, type RuleTest } from './ruleTest.ts';
import { parseWildcard } from './wildcard.ts';

/**
 * One element of a pattern leaf, validated and turned into what matching needs, with the
 * per-event work (lower-casing, range parsing, set building) already done; operators become
 * plain data for `passes` (ruleTest.ts).
 */
export type CompiledRule =
  | { kind: 'exact'; value: Leaf }
  | { kind: 'exists'; present: boolean }
  | { kind: 'test'; test: RuleTest };

/** The EventBridge operators, in the order error messages list them. */
export const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'anything-but', 'numeric', 'exists', 'cidr'] as const;

/** What anything-but accepts as an object, besides a value or a list of values. */
const ANYTHING_BUT_OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'];

const IGNORE_CASE = 'equals-ignore-case';

export function compileRule(rule: unknown, path: string): CompiledRule {
  if (rule === null || typeof rule === 'string' || typeof rule === 'boolean') return { kind: 'exact', value: rule };
  if (typeof rule === 'number') return { kind: 'exact', value: finite(rule, path) };
  if (isNumberLiteral(rule)) {
    // A literal no double holds matches only an event number of the same exact value.
    if (isExactLiteral(rule.rawJSON)) return { kind: 'exact', value: Number(rule.rawJSON) };
    return { kind: 'test', test: ruleTest(Op.literal, { text: decimalKey(rule.rawJSON)! }) };
  }
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
    case IGNORE_CASE:
      return { kind: 'test', test: ignoreCaseTest(Op.lower, requireString(argument, at, `${IGNORE_CASE} expects a string`)) };
    case 'wildcard':
      return { kind: 'test', test: wildcardTest(parseWildcard(requireString(argument, at, 'wildcard expects a string'), at)) };
    case 'cidr': {
      const block = parseCidr(requireString(argument, at, 'cidr expects a string'), at);
      // An IPv4 block is decided on numbers: the network, and the prefix length in `high`.
      const ipv4 = block.bits === 32 ? { low: Number(block.network), high: 32 - Number(block.shift) } : {};
      return { kind: 'test', test: ruleTest(Op.cidr, { block, ...ipv4 }) };
    }
    case 'anything-but':
      return { kind: 'test', test: anythingButTest(argument, at) };
    case 'numeric':
      return { kind: 'test', test: ruleTest(Op.numeric, compileNumericRange(argument, at)) };
    case 'exists':
      if (typeof argument !== 'boolean') {
        throw new InvalidPatternError(`exists expects true or false, got ${describeValue(argument)}`, at);
      }
      return { kind: 'exists', present: argument };
    default:
      throw unknownOperator(operator, at);
  }
}

/** Pieces from parseWildcard: one piece is an exact string; more are first … middle … last. */
function wildcardTest(pieces: string[]): RuleTest {
  const [first = '', last = ''] = [pieces[0], pieces[pieces.length - 1]];
  const middle = pieces.slice(1, -1).filter((piece) => piece !== '');
  return ruleTest(Op.wildcard, { text: first, last, middle, multi: pieces.length > 1 });
}

function affixTest(operator: 'prefix' | 'suffix', argument: unknown, at: string): RuleTest {
  const expected = `${operator} expects a string or {"${IGNORE_CASE}": string}`;
  if (typeof argument === 'string') return ruleTest(operator === 'prefix' ? Op.prefix : Op.suffix, { text: argument });
  if (!isPlainObject(argument)) throw new InvalidPatternError(`${expected}, got ${describeValue(argument)}`, at);
  const [modifier, value] = singleEntry(argument, at, `the ${operator} object`);
  if (modifier !== IGNORE_CASE) throw new InvalidPatternError(`${expected}, got key "${modifier}"`, joinPath(at, modifier));
  const affix = requireString(value, joinPath(at, modifier), expected);
  return ignoreCaseTest(operator === 'prefix' ? Op.prefixLower : Op.suffixLower, affix);
}

/** equals-ignore-case on its own or as a prefix or suffix: see caseFold.ts. */
function ignoreCaseTest(op: typeof Op.lower | typeof Op.prefixLower | typeof Op.suffixLower, text: string): RuleTest {
  return ruleTest(op, { text: text.toLowerCase(), variants: caseVariants(text) });
}

function anythingButTest(argument: unknown, at: string): RuleTest {
  if (isPlainObject(argument)) {
    const [operator, value] = singleEntry(argument, at, 'the anything-but object');
    const inner = joinPath(at, operator);
    if (!ANYTHING_BUT_OPERATORS.includes(operator)) {
      throw new InvalidPatternError(
        `anything-but accepts a value, a list of values, or one of ${ANYTHING_BUT_OPERATORS.join(', ')}; got operator "${operator}"`,
        inner,
      );
    }
    // String operators: a value that is not a string is never excluded by them (EventBridge).
    const values = stringList(value, inner, `anything-but ${operator}`);
    const where = (i: number) => (Array.isArray(value) ? indexPath(inner, i) : inner);
    if (operator === 'prefix' || operator === 'suffix') {
      values.forEach((v, i) => {
        if (v === '') throw new InvalidPatternError(`anything-but ${operator} must not be empty (it would exclude every string)`, where(i));
      });
    }
    return excludedStrings(operator, values, where);
  }
  const values = Array.isArray(argument) ? argument : [argument];
  if (values.length === 0) throw new InvalidPatternError('anything-but expects a non-empty list, got an empty array', at);
  const excluded = values.map((v, i) => {
    const where = Array.isArray(argument) ? indexPath(at, i) : at;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || isNumberLiteral(v)) return exactOperand(v, where, 'anything-but');
    throw new InvalidPatternError(`anything-but values must be strings or numbers, got ${describeValue(v)}`, where);
  });
  const kinds = new Set(excluded.map((v) => typeof v));
  if (kinds.size > 1) {
    throw new InvalidPatternError(`an anything-but list must hold only strings or only numbers, got ${describeValue(argument)}`, at);
  }
  // Set membership is SameValueZero: 5 and 5.0 are one number, "5" and 5 stay apart.
  return ruleTest(Op.notValues, { set: new Set<unknown>(excluded) });
}

/** anything-but's prefix, suffix, equals-ignore-case or wildcard list: a string none of them matches. */
function excludedStrings(operator: string, values: string[], where: (i: number) => string): RuleTest {
  switch (operator) {
    case 'prefix':
      return ruleTest(Op.notAny, { list: values.map((text) => ruleTest(Op.prefix, { text })) });
    case 'suffix':
      return ruleTest(Op.notAny, { list: values.map((text) => ruleTest(Op.suffix, { text })) });
    case IGNORE_CASE:
      return ruleTest(Op.notAny, { list: values.map((text) => ignoreCaseTest(Op.lower, text)) });
    default:
      return ruleTest(Op.notAny, { list: values.map((v, i) => wildcardTest(parseWildcard(v, where(i)))) });
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
