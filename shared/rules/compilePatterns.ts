import type { RouteMatcher } from '../core/ports/RouteMatcher.ts';
import { compilePattern, type CompiledPattern } from './compilePattern.ts';

/**
 * Validates every named pattern and returns a matcher that lists, in insertion order, the
 * names whose pattern matches an event (in its EventBridge view). Error paths start with the
 * pattern's name, e.g. `big-orders.detail.amount[0].numeric`.
 *
 * Each pattern is evaluated on its own, with its strings lower-cased, sets built and numeric
 * ranges parsed once at compile time; sharing work across patterns is left to a later matcher.
 * Names follow object key order, in which integer-like keys ("1", "2") come first.
 *
 * @example
 * const matcher = compilePatterns({
 *   'big-orders': { source: ['shop'], detail: { amount: [{ numeric: ['>=', 1000] }] } },
 *   'all-shop': { source: ['shop'] },
 * });
 * matcher.matches({ source: 'shop', detail: { amount: 5000 } }); // ['big-orders', 'all-shop']
 */
export function compilePatterns(patterns: Record<string, unknown>): RouteMatcher {
  const compiled: [string, CompiledPattern][] = Object.entries(patterns).map(([name, pattern]) => [
    name,
    compilePattern(pattern, name),
  ]);
  return {
    matches(event: unknown): string[] {
      return compiled.filter(([, matches]) => matches(event)).map(([name]) => name);
    },
  };
}
