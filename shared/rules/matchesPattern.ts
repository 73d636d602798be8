import { parseIp } from './cidr.ts';
import { fieldOf, isPlainObject, leavesOf, objectsOf, type Leaf } from './eventValues.ts';
import { decimalKey, isNumberLiteral, numberLeaf } from './jsonNumbers.ts';

/*
 * The reference interpreter: EventBridge pattern semantics written as plainly as possible,
 * straight from the raw pattern. It is the yardstick the compiled matcher is tested
 * against, so it favours obviousness over speed. It assumes the pattern was validated.
 */

type Pattern = Record<string, unknown>;

/**
 * True when `event` (in its EventBridge view) matches the validated `pattern`.
 *
 * @example
 * matchesPattern({ source: ['shop'], detail: { amount: [{ numeric: ['>', 100] }] } },
 *   { source: 'shop', detail: { amount: 250 } }); // true
 */
export function matchesPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  return matchesObject(pattern, event);
}

/** Fields are ANDed; `$or` needs one alternative to match at this same level of the event. */
function matchesObject(pattern: Pattern, value: unknown): boolean {
  return Object.entries(pattern).every(([key, sub]) => {
    if (key === '$or') return (sub as Pattern[]).some((alternative) => matchesObject(alternative, value));
    const field = fieldOf(value, key);
    return Array.isArray(sub) ? leafMatches(sub, field) : nestedMatches(sub as Pattern, field);
  });
}

/** A nested pattern descends into the field; into any one object of it when it is an array. */
export function nestedMatches(pattern: Pattern, field: unknown): boolean {
  const objects = objectsOf(field);
  if (objects.length === 0) return matchesObject(pattern, undefined);
  return objects.some((object) => matchesObject(pattern, object));
}

/**
 * A leaf matches when any rule matches any leaf value of the field. A field with no leaf
 * value (missing, an object, an empty array) matches only `{"exists": false}`.
 */
export function leafMatches(rules: unknown[], field: unknown): boolean {
  const leaves = leavesOf(field);
  if (leaves.length === 0) return rules.some((rule) => isPlainObject(rule) && rule.exists === false);
  return rules.some((rule) => leaves.some((leaf) => ruleMatches(rule, leaf)));
}

/** One rule (an exact value or an operator object) against one leaf value. */
export function ruleMatches(rule: unknown, leaf: Leaf): boolean {
  if (!isPlainObject(rule)) return sameValue(rule, leaf);
  const [operator, argument] = Object.entries(rule)[0] ?? [];
  switch (operator) {
    case 'exists':
      return argument === true;
    case 'prefix':
      return typeof leaf === 'string' && caseAware(argument, leaf, 'prefix');
    case 'suffix':
      return typeof leaf === 'string' && caseAware(argument, leaf, 'suffix');
    case 'equals-ignore-case':
      return typeof leaf === 'string' && ignoringCase(String(argument), 'whole').test(leaf);
    case 'wildcard':
      return typeof leaf === 'string' && wildcardRegExp(String(argument)).test(leaf);
    case 'cidr':
      return typeof leaf === 'string' && inCidr(String(argument), leaf);
    case 'anything-but':
      return anythingBut(argument, leaf);
    case 'numeric': {
      const value = doubleOf(leaf);
      return value !== undefined && inRange(argument as unknown[], value);
    }
    default:
      return false;
  }
}

/**
 * Numbers are equal when their exact decimal values are (5 = 5.0 = 5e0); a number whose
 * literal was lost (Infinity) equals nothing. Anything else is compared strictly.
 */
function sameValue(a: unknown, b: unknown): boolean {
  const [x, y] = [exactDecimal(a), exactDecimal(b)];
  if (x === null || y === null) return a === b;
  return x !== undefined && x === y;
}

/** The decimalKey of a number or NumberLiteral, undefined for a non-finite number, null for a non-number. */
function exactDecimal(value: unknown): string | undefined | null {
  if (typeof value === 'number') return Number.isFinite(value) ? decimalKey(String(value)) : undefined;
  return isNumberLiteral(value) ? decimalKey(value.rawJSON) : null;
}

/** The double `numeric` compares: a finite number, or a literal a double holds exactly. */
function doubleOf(leaf: Leaf): number | undefined {
  const value = numberLeaf(leaf);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** `"us-"` compares as written; `{"equals-ignore-case": "US-"}` compares each character in either case. */
function caseAware(argument: unknown, leaf: string, where: 'prefix' | 'suffix'): boolean {
  if (typeof argument === 'string') return affixRegExp(argument, where).test(leaf);
  return ignoringCase(String((argument as Pattern)['equals-ignore-case']), where).test(leaf);
}

function anythingBut(argument: unknown, leaf: Leaf): boolean {
  if (!isPlainObject(argument)) {
    const excluded: unknown[] = Array.isArray(argument) ? argument : [argument];
    return !excluded.some((value) => sameValue(value, leaf));
  }
  // {prefix}, {suffix}, {equals-ignore-case} and {wildcard} exclude strings only: any other value passes.
  if (typeof leaf !== 'string') return true;
  const [operator, value] = Object.entries(argument)[0] ?? [];
  const excluded = Array.isArray(value) ? value : [value];
  return !excluded.some((v) => ruleMatches({ [operator as string]: v }, leaf));
}

/*
 * String operators compare code points: every expression below uses the `u` flag, under which
 * a surrogate pair is one character that a lone surrogate cannot match half of.
 */

function affixRegExp(text: string, where: 'prefix' | 'suffix'): RegExp {
  const source = [...text].map(escapeRegExp).join('');
  return new RegExp(where === 'prefix' ? `^${source}` : `${source}$`, 'su');
}

/** Each character of the pattern in its lower-case or its upper-case form, as EventBridge reads it. */
function ignoringCase(text: string, where: 'prefix' | 'suffix' | 'whole'): RegExp {
  const source = [...text].map((c) => `(?:${escapeRegExp(c.toLowerCase())}|${escapeRegExp(c.toUpperCase())})`).join('');
  return new RegExp(`${where === 'suffix' ? '' : '^'}${source}${where === 'prefix' ? '' : '$'}`, 'su');
}

/** `*` is any run of characters; `\*` and `\\` stand for a literal `*` and `\`. */
function wildcardRegExp(wildcard: string): RegExp {
  let source = '';
  const chars = [...wildcard];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i] as string;
    if (char === '\\') source += escapeRegExp(chars[++i] ?? '');
    else source += char === '*' ? '.*' : escapeRegExp(char);
  }
  return new RegExp(`^${source}$`, 'su');
}

/** Escapes the syntax characters (the only escapes the `u` flag allows); other text stands for itself. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Compares the first `length` bits of the two addresses, written out as binary digits. */
function inCidr(block: string, text: string): boolean {
  const [address = '', length = ''] = block.split('/');
  const network = parseIp(address);
  const ip = parseIp(text);
  if (network === undefined || ip === undefined || network.bits !== ip.bits) return false;
  const bits = (value: bigint) => value.toString(2).padStart(ip.bits, '0');
  return bits(ip.value).slice(0, Number(length)) === bits(network.value).slice(0, Number(length));
}

function inRange(comparisons: unknown[], value: number): boolean {
  for (let i = 0; i < comparisons.length; i += 2) {
    const operand = Number(numberLeaf(comparisons[i + 1])); // validated: a double holds it
    const holds =
      comparisons[i] === '=' ? value === operand
      : comparisons[i] === '<' ? value < operand
      : comparisons[i] === '<=' ? value <= operand
      : comparisons[i] === '>' ? value > operand
      : value >= operand;
    if (!holds) return false;
  }
  return true;
}
