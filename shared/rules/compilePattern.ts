import { InvalidPatternError } from '../core/errors.ts';
import { compileRule, type CompiledRule } from './compileRule.ts';
import { isPlainObject, type Leaf } from './eventValues.ts';
import { describeValue, indexPath, joinPath } from './format.ts';
import type { RuleTest } from './ruleTest.ts';

/*
 * A validated pattern as plain data: a list of checks (ANDed) of the same shape whatever
 * they check, read by the two evaluators of evaluate.ts. Data rather than closures, so one
 * monomorphic function serves every route instead of thousands of rarely-run closures.
 */

export const Kind = { leaf: 0, nested: 1, or: 2 } as const;

/** What a pattern leaf accepts, with the rules sorted by how they are decided. */
export interface LeafCheck {
  /** Exact values (SameValueZero: 5 = 5.0, "5" ≠ 5); `one` holds the value when there is only one. */
  exact: Set<unknown>;
  one: unknown;
  exactCount: number;
  tests: RuleTest[];
  existsTrue: boolean;
  existsFalse: boolean;
}

export interface Check {
  kind: (typeof Kind)[keyof typeof Kind];
  /** The event field checked (leaf, nested), and the full path from the event's root. */
  key: string;
  path: string[];
  /** Where the field's value sits in a flattened event (assigned by eventSlots.ts), or -1. */
  slot: number;
  leaf: LeafCheck | null;
  /** A nested object's checks. */
  nested: Check[];
  /** `$or`: the alternatives' checks. */
  alternatives: Check[][];
}

/** A compiled pattern: its checks, all of which must hold. */
export type CompiledPattern = Check[];

/**
 * Validates `pattern` and compiles it into checks in one walk, so that what validation
 * accepts is exactly what matching understands. Errors carry the path inside the pattern,
 * prefixed with `basePath` (e.g. a route name).
 */
export function compilePattern(pattern: unknown, basePath = ''): CompiledPattern {
  if (!isPlainObject(pattern)) {
    throw new InvalidPatternError(`an event pattern must be a JSON object, got ${describeValue(pattern)}`, basePath);
  }
  return compileObject(pattern, basePath, []);
}

/*
 * Field names EventBridge reserves inside `$or` (at any depth below it): the operators, the
 * numeric comparators, and names it keeps for future operators. A pattern using one there is
 * refused at deploy time, so it is refused here.
 */
const RESERVED_IN_OR = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=',
  'regex', 'not-wildcard', 'not-equals-ignore-case',
  'date-after', 'date-on-or-after', 'date-before', 'date-on-or-before', 'in-date-range',
  'ip-address-in-range', 'ip-address-not-in-range',
]);

function compileObject(pattern: Record<string, unknown>, at: string, path: string[], inOr = false): Check[] {
  const entries = Object.entries(pattern);
  if (entries.length === 0) throw new InvalidPatternError('a pattern object must name at least one field', at);
  return entries.map(([key, value]) => {
    if (inOr && RESERVED_IN_OR.has(key)) {
      throw new InvalidPatternError(`"${key}" is reserved by EventBridge and cannot name a field inside $or`, joinPath(at, key));
    }
    return compileField(key, value, joinPath(at, key), path, inOr);
  });
}

function check(kind: Check['kind'], key: string, path: string[], parts: Partial<Check>): Check {
  return { kind, key, path, slot: -1, leaf: parts.leaf ?? null, nested: parts.nested ?? [], alternatives: parts.alternatives ?? [] };
}

function compileField(key: string, value: unknown, at: string, parent: string[], inOr: boolean): Check {
  if (key === '$or') return compileOr(value, at, parent);
  const path = [...parent, key];
  if (Array.isArray(value)) return check(Kind.leaf, key, path, { leaf: compileLeaf(value, at) });
  if (isPlainObject(value)) return check(Kind.nested, key, path, { nested: compileObject(value, at, path, inOr) });
  throw new InvalidPatternError(`a pattern leaf must be an array of values or operators, got ${describeValue(value)}`, at);
}

function compileOr(value: unknown, at: string, parent: string[]): Check {
  if (!Array.isArray(value) || value.length < 2) {
    throw new InvalidPatternError(`must be an array of at least 2 pattern objects, got ${describeValue(value)}`, at);
  }
  const alternatives = value.map((alternative, i) => {
    const where = indexPath(at, i);
    if (!isPlainObject(alternative)) {
      throw new InvalidPatternError(`each $or alternative must be a pattern object, got ${describeValue(alternative)}`, where);
    }
    return compileObject(alternative, where, parent, true);
  });
  return check(Kind.or, '$or', parent, { alternatives });
}

function compileLeaf(rules: unknown[], at: string): LeafCheck {
  if (rules.length === 0) {
    throw new InvalidPatternError('a pattern leaf must list at least one value or operator, got an empty array', at);
  }
  const compiled: CompiledRule[] = rules.map((rule, i) => compileRule(rule, indexPath(at, i)));
  const leaf: LeafCheck = { exact: new Set<Leaf>(), one: undefined, exactCount: 0, tests: [], existsTrue: false, existsFalse: false };
  for (const rule of compiled) {
    if (rule.kind === 'exact') leaf.exact.add(rule.value);
    else if (rule.kind === 'test') leaf.tests.push(rule.test);
    else if (rule.present) leaf.existsTrue = true;
    else leaf.existsFalse = true;
  }
  leaf.exactCount = leaf.exact.size;
  if (leaf.exactCount === 1) leaf.one = [...leaf.exact][0];
  return leaf;
}
