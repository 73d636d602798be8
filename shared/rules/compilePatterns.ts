import { InvalidEventError } from '../core/errors.ts';
import type { RouteMatcher } from '../core/ports/RouteMatcher.ts';
import { compilePattern, type CompiledPattern } from './compilePattern.ts';
import { buildIndex, candidates } from './keyIndex.ts';

/**
 * Validates every named pattern and returns a matcher that lists, in insertion order, the
 * names whose pattern matches an event (in its EventBridge view). The event may be an object
 * or JSON text (parsed once; bad JSON throws `InvalidEventError`). Error paths start with the
 * pattern's name, e.g. `big-orders.detail.amount[0].numeric`.
 *
 * Routes are filed in an index keyed by their most selective field values (see keyIndex.ts),
 * so an event is only checked against the few routes its values can reach; each of those is
 * then decided by its compiled pattern. Names follow object key order, in which integer-like
 * keys ("1", "2") come first.
 *
 * @example
 * const matcher = compilePatterns({
 *   'big-orders': { source: ['shop'], detail: { amount: [{ numeric: ['>=', 1000] }] } },
 *   'all-shop': { source: ['shop'] },
 * });
 * matcher.matches({ source: 'shop', detail: { amount: 5000 } }); // ['big-orders', 'all-shop']
 * matcher.matches('{"source": "shop", "detail": {"amount": 5}}'); // ['all-shop']
 */
export function compilePatterns(patterns: Record<string, unknown>): RouteMatcher {
  const names = Object.keys(patterns);
  const predicates: CompiledPattern[] = names.map((name) => compilePattern(patterns[name], name));
  // Validated above; a structured clone keeps the index independent of the caller's objects.
  const routes = names.map((name) => ({ pattern: structuredClone(patterns[name]) as Record<string, unknown> }));
  const members = names.map((_, i) => i);
  const root = buildIndex(routes, members, members.map(() => new Set<string>()));
  const seen = new Uint32Array(names.length);
  let epoch = 0;

  return {
    matches(input: unknown): string[] {
      const event = typeof input === 'string' ? parseEvent(input) : input;
      if (++epoch === 0xffffffff) {
        seen.fill(0);
        epoch = 1;
      }
      const stamp = epoch;
      const matched: number[] = [];
      candidates(root, event, (r) => {
        if (seen[r] === stamp) return;
        seen[r] = stamp;
        if (predicates[r]!(event)) matched.push(r);
      });
      if (matched.length > 1) matched.sort((a, b) => a - b);
      return matched.map((r) => names[r]!);
    },
  };
}

function parseEvent(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new InvalidEventError(`the event is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
