import { leavesAtPath, type Leaf } from './eventValues.ts';
import { allKeys, cheapestOption, type Key, type KeyKind } from './routeKeys.ts';

/*
 * The route index: a small decision tree over event values. Each route is filed under its
 * most selective filter (the keys fewest other routes share); a bucket that still holds many
 * routes is split again by each route's next filter. Looking an event up reads a handful of
 * paths and does a few map lookups per level, so the work does not grow with the number of
 * routes, only with the number that share the event's values. Routes with no usable filter
 * (anything-but, exists or cidr only) sit in a scan list and are always tried.
 */

/** Buckets larger than this are split by the routes' next filter, this many levels deep. */
const SPLIT_ABOVE = 2;
const MAX_DEPTH = 3;
/** What a key costs beyond how many routes share it: an exact hit beats a prefix scan. */
const KIND_COST: Record<KeyKind, number> = { exact: 0, lower: 0.25, prefix: 0.5, prefixLower: 0.75, suffix: 0.5, suffixLower: 0.75, numeric: 2 };

export interface IndexedRoute {
  pattern: Record<string, unknown>;
}

interface Bucket {
  routes: number[];
  child?: IndexNode;
}

interface Affixes {
  lengths: number[];
  buckets: Map<string, Bucket>;
}

interface NumericCells {
  bounds: number[];
  cells: Bucket[];
}

interface Group {
  path: string[];
  pathKey: string;
  exact?: Map<Leaf, Bucket>;
  lower?: Map<string, Bucket>;
  prefix?: Affixes;
  prefixLower?: Affixes;
  suffix?: Affixes;
  suffixLower?: Affixes;
  numeric?: NumericCells;
  numericKeys?: [number, [number, number]][];
}

export interface IndexNode {
  scan: number[];
  groups: Group[];
}

/** Builds the index of `routes` (by position); `used` holds, per route, the filters ancestors used. */
export function buildIndex(routes: readonly IndexedRoute[], members: number[], used: Set<string>[], depth = 0): IndexNode {
  const counts = new Map<string, number>();
  for (const r of members) {
    for (const id of new Set(allKeys(routes[r]!.pattern).map((k) => k.id))) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const cost = (key: Key) => (counts.get(key.id) ?? 0) + KIND_COST[key.kind];
  const node: IndexNode = { scan: [], groups: [] };
  const groups = new Map<string, Group>();
  for (const r of members) {
    const best = cheapestOption(routes[r]!.pattern, cost, used[r]!);
    if (!best) {
      node.scan.push(r);
      continue;
    }
    used[r]!.add(best.id);
    for (const key of best.keys) file(groupOf(groups, key), key, r);
  }
  node.groups = [...groups.values()];
  for (const group of node.groups) finishNumeric(group);
  if (depth + 1 < MAX_DEPTH) {
    for (const bucket of bucketsOf(node)) {
      if (bucket.routes.length > SPLIT_ABOVE) {
        const child = buildIndex(routes, bucket.routes, used, depth + 1);
        if (child.scan.length < bucket.routes.length) bucket.child = child;
      }
    }
  }
  return node;
}

/** Calls `visit` with every route the index cannot rule out for `event` (possibly twice). */
export function candidates(node: IndexNode, event: unknown, visit: (route: number) => void): void {
  for (const r of node.scan) visit(r);
  for (const group of node.groups) {
    // Most events hold one scalar at a path: look it up without building a list of leaves.
    const value = scalarAt(event, group.path);
    if (value === NOT_SCALAR) for (const leaf of leavesAtPath(event, group.path)) lookUp(group, leaf, event, visit);
    else if (value !== undefined) lookUp(group, value as Leaf, event, visit);
  }
}

const NOT_SCALAR = Symbol('not a scalar');

/** The scalar at `path` when objects lead straight to it; undefined when absent; NOT_SCALAR otherwise. */
function scalarAt(event: unknown, path: readonly string[]): Leaf | undefined | typeof NOT_SCALAR {
  let value = event;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    if (Array.isArray(value)) return NOT_SCALAR;
    value = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  }
  return typeof value === 'object' && value !== null ? NOT_SCALAR : (value as Leaf | undefined);
}

function lookUp(group: Group, leaf: Leaf, event: unknown, visit: (route: number) => void): void {
  reach(group.exact?.get(leaf), event, visit);
  if (typeof leaf === 'string') {
    if (group.lower || group.prefixLower || group.suffixLower) {
      const lowered = leaf.toLowerCase();
      reach(group.lower?.get(lowered), event, visit);
      affixes(group.prefixLower, lowered, true, event, visit);
      affixes(group.suffixLower, lowered, false, event, visit);
    }
    affixes(group.prefix, leaf, true, event, visit);
    affixes(group.suffix, leaf, false, event, visit);
  } else if (typeof leaf === 'number' && group.numeric) {
    reach(group.numeric.cells[cellOf(group.numeric.bounds, leaf)], event, visit);
  }
}

function reach(bucket: Bucket | undefined, event: unknown, visit: (route: number) => void): void {
  if (bucket === undefined) return;
  if (bucket.child) candidates(bucket.child, event, visit);
  else for (const r of bucket.routes) visit(r);
}

function affixes(index: Affixes | undefined, text: string, front: boolean, event: unknown, visit: (route: number) => void): void {
  if (index === undefined) return;
  for (const length of index.lengths) {
    if (length > text.length) break;
    reach(index.buckets.get(front ? text.slice(0, length) : text.slice(text.length - length)), event, visit);
  }
}

function groupOf(groups: Map<string, Group>, key: Key): Group {
  let group = groups.get(key.pathKey);
  if (!group) groups.set(key.pathKey, (group = { path: key.path, pathKey: key.pathKey }));
  return group;
}

function file(group: Group, key: Key, route: number): void {
  switch (key.kind) {
    case 'exact':
      return add((group.exact ??= new Map()), key.token as Leaf, route);
    case 'lower':
      return add((group.lower ??= new Map()), key.token as string, route);
    case 'numeric':
      (group.numericKeys ??= []).push([route, key.token as [number, number]]);
      return;
    default: {
      const affix: Affixes = (group[key.kind] ??= { lengths: [], buckets: new Map<string, Bucket>() });
      const text = key.token as string;
      if (!affix.lengths.includes(text.length)) affix.lengths = [...affix.lengths, text.length].sort((a, b) => a - b);
      return add(affix.buckets, text, route);
    }
  }
}

function add<K>(map: Map<K, Bucket>, token: K, route: number): void {
  const bucket = map.get(token);
  if (bucket) {
    if (bucket.routes[bucket.routes.length - 1] !== route) bucket.routes.push(route);
  } else map.set(token, { routes: [route] });
}

/**
 * Numeric filters become cells between the sorted interval bounds; each interval is filed in
 * every cell it overlaps, so a number finds its candidates with one binary search.
 */
function finishNumeric(group: Group): void {
  if (!group.numericKeys) return;
  const bounds = [...new Set(group.numericKeys.flatMap(([, [low, high]]) => [low, high]).filter(Number.isFinite))].sort((a, b) => a - b);
  // Cell 2i+1 is the bound itself, cell 2i the open gap below it: "<= 5" and "> 5" part there.
  const cells: Bucket[] = Array.from({ length: bounds.length * 2 + 1 }, () => ({ routes: [] }));
  for (const [route, [low, high]] of group.numericKeys) {
    for (let c = cellOf(bounds, low); c <= cellOf(bounds, high); c++) cells[c]!.routes.push(route);
  }
  group.numeric = { bounds, cells };
  delete group.numericKeys;
}

function cellOf(bounds: number[], value: number): number {
  let [lo, hi] = [0, bounds.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bounds[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo < bounds.length && bounds[lo] === value ? 2 * lo + 1 : 2 * lo;
}

function bucketsOf(node: IndexNode): Bucket[] {
  return node.groups.flatMap((g) => [
    ...(g.exact?.values() ?? []),
    ...(g.lower?.values() ?? []),
    ...[g.prefix, g.prefixLower, g.suffix, g.suffixLower].flatMap((a) => [...(a?.buckets.values() ?? [])]),
    ...(g.numeric?.cells ?? []),
  ]);
}
