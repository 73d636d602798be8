import { parseIp } from './cidr.ts';
import { fieldOf, isPlainObject, leavesOf, objectsOf, type Leaf } from './eventValues.ts';

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
  if (!isPlainObject(rule)) return rule === leaf; // type-strict; 5 === 5.0 in JavaScript
  const [operator, argument] = Object.entries(rule)[0] ?? [];
  switch (operator) {
    case 'exists':
      return argument === true;
    case 'prefix':
      return typeof leaf === 'string' && caseAware(argument, leaf, (s, a) => s.startsWith(a));
    case 'suffix':
      return typeof leaf === 'string' && caseAware(argument, leaf, (s, a) => s.endsWith(a));
    case 'equals-ignore-case':
      return typeof leaf === 'string' && leaf.toLowerCase() === String(argument).toLowerCase();
    case 'wildcard':
      return typeof leaf === 'string' && wildcardRegExp(String(argument)).test(leaf);
    case 'cidr':
      return typeof leaf === 'string' && inCidr(String(argument), leaf);
    case 'anything-but':
      return anythingBut(argument, leaf);
    case 'numeric':
      return typeof leaf === 'number' && inRange(argument as unknown[], leaf);
    default:
      return false;
  }
}

/** `"us-"` compares as written; `{"equals-ignore-case": "US-"}` compares lower-cased. */
function caseAware(argument: unknown, leaf: string, has: (s: string, a: string) => boolean): boolean {
  if (typeof argument === 'string') return has(leaf, argument);
  const wanted = String((argument as Pattern)['equals-ignore-case']);
  return has(leaf.toLowerCase(), wanted.toLowerCase());
}

function anythingBut(argument: unknown, leaf: Leaf): boolean {
  if (!isPlainObject(argument)) {
    const excluded: unknown[] = Array.isArray(argument) ? argument : [argument];
    return !excluded.includes(leaf);
  }
  // {prefix}, {suffix}, {equals-ignore-case} and {wildcard} are string operators: they never match non-strings.
  if (typeof leaf !== 'string') return false;
  const [operator, value] = Object.entries(argument)[0] ?? [];
  const excluded = Array.isArray(value) ? value : [value];
  return !excluded.some((v) => ruleMatches({ [operator as string]: v }, leaf));
}

/** `*` is any run of characters; `\*` and `\\` stand for a literal `*` and `\`. */
function wildcardRegExp(wildcard: string): RegExp {
  let source = '';
  for (let i = 0; i < wildcard.length; i++) {
    const char = wildcard[i] as string;
    if (char === '\\') source += escapeRegExp(wildcard[++i] ?? '');
    else source += char === '*' ? '.*' : escapeRegExp(char);
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeRegExp(char: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(char) ? `\\${char}` : char;
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
    const operand = comparisons[i + 1] as number;
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
