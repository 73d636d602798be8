import { fieldOf, isPlainObject, leavesOf, objectsOf } from './eventValues.ts';
import { formatJson, joinPath, preview } from './format.ts';
import { leafMatches } from './matchesPattern.ts';

type Pattern = Record<string, unknown>;

/**
 * Why `event` does not match the validated `pattern`: a one-line description of the first
 * field (in pattern order) that failed, or `undefined` when it matches. For `mesh explain`
 * and `mesh test-pattern`, so an integrator sees which condition to fix.
 *
 * @example
 * explainMismatch({ detail: { amount: [{ numeric: ['>', 100] }] } }, { detail: { amount: 42 } });
 * // 'detail.amount: 42 does not satisfy numeric [">", 100]'
 * explainMismatch({ source: ['shop'] }, { detail: {} }); // 'source: field is missing'
 */
export function explainMismatch(pattern: Record<string, unknown>, event: unknown): string | undefined {
  return explainObject(pattern, event, '');
}

function explainObject(pattern: Pattern, value: unknown, path: string): string | undefined {
  for (const [key, sub] of Object.entries(pattern)) {
    const reason =
      key === '$or' ? explainOr(sub as Pattern[], value, path)
      : Array.isArray(sub) ? explainLeaf(sub, fieldOf(value, key), joinPath(path, key))
      : explainNested(sub as Pattern, fieldOf(value, key), joinPath(path, key));
    if (reason !== undefined) return reason;
  }
  return undefined;
}

/** Alternatives see the same level of the event as `$or` itself, hence the same path. */
function explainOr(alternatives: Pattern[], value: unknown, path: string): string | undefined {
  const reasons = alternatives.map((alternative) => explainObject(alternative, value, path));
  if (reasons.some((reason) => reason === undefined)) return undefined;
  return `${joinPath(path, '$or')}: no alternative matches (${reasons.map((reason, i) => `[${i}] ${reason}`).join('; ')})`;
}

function explainNested(pattern: Pattern, field: unknown, at: string): string | undefined {
  const objects = objectsOf(field);
  if (objects.length === 0) return explainObject(pattern, undefined, at);
  const reasons = objects.map((object) => explainObject(pattern, object, at));
  if (reasons.some((reason) => reason === undefined)) return undefined;
  if (reasons.length === 1) return reasons[0];
  return `${at}: none of the ${reasons.length} objects in the array matches; the first fails with ${reasons[0]}`;
}

function explainLeaf(rules: unknown[], field: unknown, at: string): string | undefined {
  if (leafMatches(rules, field)) return undefined;
  const leaves = leavesOf(field);
  if (leaves.length === 0) return `${at}: ${absence(field)}`;
  if (rules.some((r) => isPlainObject(r) && r.exists === false)) {
    return `${at}: field is present (${preview(field)}) but the pattern requires it to be absent`;
  }
  const [rule] = rules;
  const [verb, verbs, object] =
    rules.length === 1 && isPlainObject(rule)
      ? ['satisfy', 'satisfies', describeOperator(rule)]
      : ['match', 'matches', formatJson(rules)];
  return Array.isArray(field)
    ? `${at}: no element of ${preview(field)} ${verbs} ${object}`
    : `${at}: ${preview(field)} does not ${verb} ${object}`;
}

/** Why a field offers no leaf value to compare. */
function absence(field: unknown): string {
  if (field === undefined) return 'field is missing';
  if (isPlainObject(field)) return 'field is an object, not a value';
  if (Array.isArray(field) && field.length === 0) return 'field is an empty array';
  return `field holds no value to compare (${preview(field)})`;
}

function describeOperator(rule: Pattern): string {
  const [operator, argument] = Object.entries(rule)[0] ?? [];
  return `${operator} ${formatJson(argument)}`;
}
