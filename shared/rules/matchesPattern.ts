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
  // {prefix}, {suffix} and {equals-ignore-case} are string operators: they never match non-strings.
  if (typeof leaf !== 'string') return false;
  const ignoreCase = argument['equals-ignore-case'];
  if (ignoreCase !== undefined) {
    const excluded = (Array.isArray(ignoreCase) ? ignoreCase : [ignoreCase]).map((v) => String(v).toLowerCase());
    return !excluded.includes(leaf.toLowerCase());
  }
  return !ruleMatches(argument, leaf);
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
