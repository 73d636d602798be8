import { Kind, type Check, type LeafCheck } from './compilePattern.ts';
import { isPlainObject, objectsOf, type Leaf } from './eventValues.ts';
import { isNumberLiteral, numberLeaf } from './jsonNumbers.ts';
import { passes } from './ruleTest.ts';

/*
 * The two evaluators of compiled checks. `holdsOnSlots` reads a flattened event (eventSlots.ts):
 * each leaf check is one array read, and nesting needs no walk. It is exact only when no
 * array of objects lies on a pattern path, where array-consistent matching needs to know
 * which element a value came from; then `holdsOn` walks the event itself.
 */

/**
 * The checks of a pattern for `holdsOnSlots`: nested objects dissolved into their fields'
 * leaf checks. Without arrays on the way, a nested object is just its fields' slots (a
 * missing or scalar container leaves them all undefined, which is what descending into
 * `undefined` sees), so only leaves and `$or` remain.
 */
export function slotChecks(checks: Check[]): Check[] {
  return checks.flatMap((check) => {
    if (check.kind === Kind.nested) return slotChecks(check.nested);
    if (check.kind === Kind.or) return [{ ...check, alternatives: check.alternatives.map(slotChecks) }];
    return [check];
  });
}

/** Whether every check (from `slotChecks`) holds on the flattened event `values`. */
export function holdsOnSlots(checks: Check[], values: unknown[]): boolean {
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i]!;
    if (check.kind === Kind.leaf) {
      if (!leafHolds(check.leaf!, values[check.slot])) return false;
    } else if (!someHoldsOnSlots(check.alternatives, values)) return false;
  }
  return true;
}

function someHoldsOnSlots(alternatives: Check[][], values: unknown[]): boolean {
  for (const alternative of alternatives) if (holdsOnSlots(alternative, values)) return true;
  return false;
}

/** Whether every check holds on `container` (an object of the event, or anything else: no fields). */
export function holdsOn(checks: Check[], container: unknown): boolean {
  for (const check of checks) {
    if (check.kind === Kind.or) {
      if (!check.alternatives.some((alternative) => holdsOn(alternative, container))) return false;
      continue;
    }
    const field = isPlainObject(container) && Object.hasOwn(container, check.key) ? container[check.key] : undefined;
    if (check.kind === Kind.leaf) {
      if (!leafHolds(check.leaf!, field)) return false;
    } else if (isPlainObject(field)) {
      if (!holdsOn(check.nested, field)) return false;
    } else {
      // An array of objects matches when one of its objects does (EventBridge "crushes" it).
      const objects = objectsOf(field);
      if (objects.length === 0 ? !holdsOn(check.nested, undefined) : !objects.some((object) => holdsOn(check.nested, object))) {
        return false;
      }
    }
  }
  return true;
}

/** A field's value against a leaf: a scalar is its own only leaf; arrays hold any number. */
export function leafHolds(leaf: LeafCheck, field: unknown): boolean {
  if (field === undefined) return leaf.existsFalse;
  if (field === null || typeof field !== 'object') return leaf.existsTrue || scalarHolds(leaf, field as Leaf);
  if (!Array.isArray(field)) {
    // A NumberLiteral is a leaf; any other object is not.
    return isNumberLiteral(field) ? leaf.existsTrue || scalarHolds(leaf, numberLeaf(field) as Leaf) : leaf.existsFalse;
  }
  let any = false;
  const found = eachLeaf(field, (value) => {
    any = true;
    return leaf.existsTrue || scalarHolds(leaf, value);
  });
  return any ? found : leaf.existsFalse;
}

function scalarHolds(leaf: LeafCheck, value: Leaf): boolean {
  if (leaf.exactCount === 1 ? leaf.one === value : leaf.exactCount > 1 && leaf.exact.has(value)) return true;
  const tests = leaf.tests;
  for (let i = 0; i < tests.length; i++) if (passes(tests[i]!, value)) return true;
  return false;
}

/** Calls `visit` with each leaf in `value` (arrays flattened, objects skipped) until it returns true. */
function eachLeaf(value: unknown[], visit: (leaf: Leaf) => boolean): boolean {
  for (const element of value) {
    if (element === null || typeof element === 'string' || typeof element === 'number' || typeof element === 'boolean') {
      if (visit(element)) return true;
    } else if (typeof element !== 'object') {
      continue;
    } else if (Array.isArray(element)) {
      if (eachLeaf(element as unknown[], visit)) return true;
    } else if (isNumberLiteral(element) && visit(numberLeaf(element) as Leaf)) return true;
  }
  return false;
}
