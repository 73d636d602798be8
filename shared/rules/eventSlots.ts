import { Kind, type Check } from './compilePattern.ts';
import { isPlainObject, leavesAtPath } from './eventValues.ts';
import { isNumberLiteral } from './jsonNumbers.ts';

/*
 * A flattened event: the value at every path some pattern tests, read once per event into
 * an array ("slots") so that checking a route is array reads, however many routes look at
 * the same field. Only paths patterns use are visited: the rest of the event is never walked.
 */

interface PathNode {
  keys: string[];
  /** Per key, whether a plain object could inherit it (`toString`, `constructor`…). */
  inherited: boolean[];
  children: PathNode[];
  /** The slot of this path when a pattern leaf tests it, else -1. */
  slot: number;
}

export interface EventSlots {
  /** How many slots a flattened event has. */
  size: number;
  /** Each slot's path, for events that need the slow way round. */
  paths: string[][];
  root: PathNode;
}

/** Gives every leaf check of `patterns` its slot, one per distinct path. */
export function assignSlots(patterns: readonly Check[][]): EventSlots {
  const slots: EventSlots = { size: 0, paths: [], root: { keys: [], inherited: [], children: [], slot: -1 } };
  const visit = (checks: Check[]) => {
    for (const check of checks) {
      if (check.kind === Kind.or) check.alternatives.forEach(visit);
      else if (check.kind === Kind.nested) visit(check.nested);
      else check.slot = slotOf(slots, check.path);
    }
  };
  patterns.forEach(visit);
  return slots;
}

function slotOf(slots: EventSlots, path: string[]): number {
  let node = slots.root;
  for (const key of path) {
    let at = node.keys.indexOf(key);
    if (at < 0) {
      at = node.keys.push(key) - 1;
      node.inherited.push(key in Object.prototype);
    }
    node = node.children[at] ??= { keys: [], inherited: [], children: [], slot: -1 };
  }
  if (node.slot < 0) {
    node.slot = slots.size++;
    slots.paths.push(path);
  }
  return node.slot;
}

/**
 * Fills `values` with the value at each slot's path in `event` (undefined when absent).
 * Returns false when an array lies on the way to a slot: then the slots hold every leaf
 * reachable through the arrays (what the index needs), but which element each came from is
 * lost, and patterns must be checked on the event itself.
 */
export function fillSlots(slots: EventSlots, event: unknown, values: unknown[]): boolean {
  values.fill(undefined);
  if (!isPlainObject(event) || fill(slots.root, event, values)) return true;
  for (let slot = 0; slot < slots.size; slot++) {
    const leaves = leavesAtPath(event, slots.paths[slot]!);
    values[slot] = leaves.length === 0 ? undefined : leaves;
  }
  return false;
}

/** Returns false when it met an array where the paths go on. */
function fill(node: PathNode, object: Record<string, unknown>, values: unknown[]): boolean {
  const { keys, children, inherited } = node;
  // A plain JSON object inherits only Object.prototype's names: other keys need no own-check.
  const plain = Object.getPrototypeOf(object) === Object.prototype;
  // A NumberLiteral is a leaf with no fields below it.
  if (!plain && isNumberLiteral(object)) return true;
  let flat = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = object[key];
    if (value === undefined || ((!plain || inherited[i]) && !Object.hasOwn(object, key))) continue;
    const child = children[i]!;
    if (child.slot >= 0) values[child.slot] = value;
    if (child.keys.length > 0 && typeof value === 'object' && value !== null) {
      if (Array.isArray(value)) flat = false;
      else if (!fill(child, value as Record<string, unknown>, values)) flat = false;
    }
  }
  return flat;
}

/** The slot of `path`, or -1 when no pattern leaf tests it. */
export function slotAt(slots: EventSlots, path: readonly string[]): number {
  let node: PathNode | undefined = slots.root;
  for (const key of path) {
    node = node.children[node.keys.indexOf(key)];
    if (node === undefined) return -1;
  }
  return node.slot;
}
