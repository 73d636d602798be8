import { isNumberLiteral, numberLeaf, type NumberLiteral } from './jsonNumbers.ts';

/*
 * How a pattern sees an event. Both matchers (the reference interpreter and the compiled
 * one) navigate events through these helpers, so they cannot disagree on what a "field",
 * a "leaf" or "missing" is.
 */

/**
 * A JSON scalar: the only kind of value a pattern leaf compares against. A number no double
 * holds is a NumberLiteral (jsonNumbers.ts); a non-finite number (from a parser that turned
 * 1e400 into Infinity) is a number whose literal was lost — present, but equal to nothing.
 */
export type Leaf = string | number | boolean | null | NumberLiteral;

/** An object of the event or pattern: not an array, and not a NumberLiteral (a leaf). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isNumberLiteral(value);
}

/** The value of `key` in `container`, or undefined when the container is not an object or lacks the key. */
export function fieldOf(container: unknown, key: string): unknown {
  return isPlainObject(container) && Object.hasOwn(container, key) ? container[key] : undefined;
}

/**
 * The leaf values a field holds. Arrays are flattened at any depth (a leaf matches when any
 * element matches); objects are not leaves, so a field holding only objects has no leaves
 * and is, for a leaf pattern, absent.
 */
export function leavesOf(value: unknown): Leaf[] {
  const out: Leaf[] = [];
  collectLeaves(value, out);
  return out;
}

function collectLeaves(value: unknown, out: Leaf[]): void {
  if (Array.isArray(value)) {
    for (const element of value) collectLeaves(element, out);
  } else if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') {
    out.push(value);
  } else if (isNumberLiteral(value)) {
    out.push(numberLeaf(value) as Leaf);
  }
}

/**
 * The objects a nested pattern descends into: the field itself when it is an object, or the
 * objects inside it when it is an array (EventBridge "crushes" arrays of objects).
 */
export function objectsOf(value: unknown): Record<string, unknown>[] {
  if (isPlainObject(value)) return [value];
  if (!Array.isArray(value)) return [];
  return value.flatMap((element) => objectsOf(element));
}

/**
 * Every leaf value found at `path`, through any arrays of objects on the way: what a leaf
 * pattern at that path could possibly compare against. The compiled matcher uses it to find
 * candidate routes, before their full patterns decide.
 */
export function leavesAtPath(event: unknown, path: readonly string[]): Leaf[] {
  let level: unknown[] = [event];
  for (const key of path) {
    const next: unknown[] = [];
    for (const value of level) {
      if (isPlainObject(value)) {
        if (Object.hasOwn(value, key)) next.push(value[key]);
      } else if (Array.isArray(value)) {
        for (const object of objectsOf(value)) if (Object.hasOwn(object, key)) next.push(object[key]);
      }
    }
    if (next.length === 0) return [];
    level = next;
  }
  return level.length === 1 ? leavesOf(level[0]) : leavesOf(level);
}
