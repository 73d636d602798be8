import { InvalidPatternError } from '../core/errors.ts';
import { compileRule, type CompiledRule } from './compileRule.ts';
import { fieldOf, isPlainObject, leavesOf, objectsOf, type Leaf } from './eventValues.ts';
import { describeValue, indexPath, joinPath } from './format.ts';

/** A validated pattern, ready to test events (in their EventBridge view). */
export type CompiledPattern = (event: unknown) => boolean;

/**
 * Validates `pattern` and compiles it into a predicate in one walk, so that what validation
 * accepts is exactly what matching understands. Errors carry the path inside the pattern,
 * prefixed with `basePath` (e.g. a route name).
 */
export function compilePattern(pattern: unknown, basePath = ''): CompiledPattern {
  if (!isPlainObject(pattern)) {
    throw new InvalidPatternError(`an event pattern must be a JSON object, got ${describeValue(pattern)}`, basePath);
  }
  return compileObject(pattern, basePath);
}

function compileObject(pattern: Record<string, unknown>, path: string): CompiledPattern {
  const entries = Object.entries(pattern);
  if (entries.length === 0) throw new InvalidPatternError('a pattern object must name at least one field', path);
  const checks = entries.map(([key, value]) => compileField(key, value, joinPath(path, key)));
  return (value) => {
    for (const check of checks) if (!check(value)) return false;
    return true;
  };
}

function compileField(key: string, value: unknown, path: string): CompiledPattern {
  if (key === '$or') return compileOr(value, path);
  if (Array.isArray(value)) {
    const leaf = compileLeaf(value, path);
    return (container) => leaf(fieldOf(container, key));
  }
  if (isPlainObject(value)) {
    const nested = compileObject(value, path);
    return (container) => {
      const field = fieldOf(container, key);
      if (isPlainObject(field)) return nested(field);
      const objects = objectsOf(field);
      return objects.length === 0 ? nested(undefined) : objects.some(nested);
    };
  }
  throw new InvalidPatternError(
    `a pattern leaf must be an array of values or operators, got ${describeValue(value)}`,
    path,
  );
}

function compileOr(value: unknown, path: string): CompiledPattern {
  if (!Array.isArray(value) || value.length < 2) {
    throw new InvalidPatternError(`must be an array of at least 2 pattern objects, got ${describeValue(value)}`, path);
  }
  const alternatives = value.map((alternative, i) => {
    const at = indexPath(path, i);
    if (!isPlainObject(alternative)) {
      throw new InvalidPatternError(`each $or alternative must be a pattern object, got ${describeValue(alternative)}`, at);
    }
    return compileObject(alternative, at);
  });
  return (container) => alternatives.some((alternative) => alternative(container));
}

function compileLeaf(rules: unknown[], path: string): (field: unknown) => boolean {
  if (rules.length === 0) {
    throw new InvalidPatternError('a pattern leaf must list at least one value or operator, got an empty array', path);
  }
  const compiled: CompiledRule[] = rules.map((rule, i) => compileRule(rule, indexPath(path, i)));
  const exact = new Set<unknown>();
  const tests: ((leaf: Leaf) => boolean)[] = [];
  let existsTrue = false;
  let existsFalse = false;
  for (const rule of compiled) {
    if (rule.kind === 'exact') exact.add(rule.value);
    else if (rule.kind === 'test') tests.push(rule.test);
    else if (rule.present) existsTrue = true;
    else existsFalse = true;
  }
  // Exact values go through one Set lookup (SameValueZero: 5 = 5.0, "5" ≠ 5) instead of a scan.
  const matchesLeaf = (leaf: Leaf) => {
    if (exact.has(leaf)) return true;
    for (const test of tests) if (test(leaf)) return true;
    return false;
  };
  return (field) => {
    if (field === undefined) return existsFalse;
    // A scalar is its own only leaf; a non-finite number (never from JSON) is none.
    if (field === null || typeof field !== 'object') {
      if (typeof field === 'number' && !Number.isFinite(field)) return existsFalse;
      return existsTrue || matchesLeaf(field as Leaf);
    }
    const leaves = leavesOf(field);
    if (leaves.length === 0) return existsFalse;
    return existsTrue || leaves.some(matchesLeaf);
  };
}
