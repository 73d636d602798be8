import { InvalidEventError } from '../core/errors.ts';
import type { RouteMatcher } from '../core/ports/RouteMatcher.ts';
import { compilePattern } from './compilePattern.ts';
import { holdsOn, holdsOnSlots, slotChecks } from './evaluate.ts';
import { assignSlots, fillSlots, slotAt } from './eventSlots.ts';
import { isPlainObject } from './eventValues.ts';
import { buildIndex, candidates } from './keyIndex.ts';

/**
 * Validates every named pattern and returns a matcher that lists, in insertion order, the
 * names whose pattern matches an event (in its EventBridge view). The event may be an object
 * or JSON text (parsed once; bad JSON throws `InvalidEventError`). JSON text is read with
 * JSON.parse, as the transports read events, so a number literal no double holds arrives
 * rounded; pass `readJson(text)` to keep it exact. Checking a text for such literals first
 * would cost about half a parse, on every event, for literals events almost never hold. Error paths start with the
 * pattern's name, e.g. `big-orders.detail.amount[0].numeric`.
 *
 * Per event, the values at the paths patterns test are read once into slots (eventSlots.ts);
 * an index keyed by the routes' most selective field values (keyIndex.ts) names the few
 * routes those values can reach, and each is decided on the slots by one shared evaluator
 * over its pattern as data (evaluate.ts). Names follow object key order, in which
 * integer-like keys ("1", "2") come first.
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
  const compiled = names.map((name) => compilePattern(patterns[name], name));
  const slots = assignSlots(compiled);
  const flatChecks = compiled.map(slotChecks);
  // Validated above; a copy keeps the index independent of the caller's objects.
  const routes = names.map((name) => ({ pattern: copyPattern(patterns[name]) as Record<string, unknown> }));
  const members = names.map((_, i) => i);
  const root = buildIndex(routes, members, (path) => slotAt(slots, path), members.map(() => new Set<string>()));
  const values: unknown[] = new Array<unknown>(slots.size).fill(undefined);
  const seen = new Uint32Array(names.length);
  const found: number[] = [];
  let epoch = 0;

  return {
    matches(input: unknown): string[] {
      const event = typeof input === 'string' ? parseEvent(input) : input;
      if (++epoch === 0xffffffff) {
        seen.fill(0);
        epoch = 1;
      }
      const flat = fillSlots(slots, event, values);
      found.length = 0;
      candidates(root, values, found);
      const matched: number[] = [];
      for (let i = 0; i < found.length; i++) {
        const r = found[i]!;
        if (seen[r] === epoch) continue;
        seen[r] = epoch;
        if (flat ? holdsOnSlots(flatChecks[r]!, values) : holdsOn(compiled[r]!, event)) matched.push(r);
      }
      if (matched.length > 1) matched.sort((a, b) => a - b);
      return matched.map((r) => names[r]!);
    },
  };
}

/**
 * compilePatterns, run on the first `matches` call instead of now. For patterns already
 * validated (a loaded config, a package-time snapshot) whose matcher a process may never need:
 * a Lambda delivery through a generated rule names its route, so a cold start skips compiling
 * the whole table. Until then the pattern objects are the caller's and must not change.
 */
export function compilePatternsOnFirstMatch(patterns: Record<string, unknown>): RouteMatcher {
  let matcher: RouteMatcher | undefined;
  return { matches: (input) => (matcher ??= compilePatterns(patterns)).matches(input) };
}

/** A deep copy; NumberLiterals are frozen and shared (structuredClone cannot copy them). */
function copyPattern(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyPattern);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, copyPattern(inner)]));
  return value;
}

function parseEvent(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new InvalidEventError(`the event is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
