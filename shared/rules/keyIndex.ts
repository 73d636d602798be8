import { foldCase } from './caseFold.ts';
import { parseIp } from './cidr.ts';
import type { Leaf } from './eventValues.ts';
import { isNumberLiteral, numberLeaf } from './jsonNumbers.ts';
import { ipv4Number, networkOf } from './ruleTest.ts';
import { allKeys, cheapestOption, cidrToken, type Key, type KeyKind } from './routeKeys.ts';

/*
 * The route index: a small decision tree over event values. Each route is filed under its
 * most selective filter (the keys fewest other routes share); a bucket that still holds many
 * routes is split again by each route's next filter. Looking an event up reads a handful of
 * slots of the flattened event (eventSlots.ts) and does a few map lookups per level, so the
 * work does not grow with the number of routes, only with the number that share the event's
 * values. Routes with no usable filter (anything-but or exists only) sit in a scan list and
 * are always tried.
 */

/** Buckets larger than this are split by the routes' next filter, this many levels deep. */
const SPLIT_ABOVE = 4;
const MAX_DEPTH = 3;
/** What one more group (a lookup per event) costs, in candidate routes checked. */
const GROUP_COST = 2;
/** What a key costs beyond how many routes share it: an exact hit beats a prefix scan. */
const KIND_COST: Record<KeyKind, number> = {
  exact: 0,
  lower: 0.25,
  prefix: 0.5,
  prefixLower: 0.75,
  suffix: 0.5,
  suffixLower: 0.75,
  cidr: 0.5,
  numeric: 2,
};

export interface IndexedRoute {
  pattern: Record<string, unknown>;
}

/*
 * Every node, group and bucket is created with all its fields (absent ones undefined), so
 * each kind has one object layout and the lookup code stays monomorphic.
 */
interface Bucket {
  routes: number[];
  child: IndexNode | undefined;
}

interface Affixes {
  lengths: number[];
  buckets: Map<string, Bucket>;
}

/**
 * cidr blocks by family and prefix length: an address finds its block with one lookup per
 * length. IPv4 blocks are keyed by a number (length · 2³² + network), so no string is built
 * per event; IPv6 blocks by their cidrToken.
 */
interface CidrBlocks {
  lengths: [family: 4 | 6, length: number][];
  buckets: Map<number | string, Bucket>;
}

const V4_LENGTH = 2 ** 32;

interface NumericCells {
  bounds: number[];
  cells: Bucket[];
}

interface Group {
  slot: number;
  pathKey: string;
  exact: Map<Leaf, Bucket> | undefined;
  lower: Map<string, Bucket> | undefined;
  prefix: Affixes | undefined;
  prefixLower: Affixes | undefined;
  suffix: Affixes | undefined;
  suffixLower: Affixes | undefined;
  cidr: CidrBlocks | undefined;
  numeric: NumericCells | undefined;
  numericKeys: [number, [number, number]][] | undefined;
}

export interface IndexNode {
  scan: number[];
  groups: Group[];
}

/**
 * Builds the index of `routes` (by position); `slotOf` gives a key path's slot in flattened
 * events, and `used` holds, per route, the filters ancestors used.
 */
export function buildIndex(
  routes: readonly IndexedRoute[],
  members: number[],
  slotOf: (path: string[]) => number,
  used: Set<string>[],
  depth = 0,
): IndexNode {
  const counts = new Map<string, number>();
  const onPath = new Map<string, number>();
  for (const r of members) {
    const keys = allKeys(routes[r]!.pattern);
    for (const id of new Set(keys.map((k) => k.id))) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const path of new Set(keys.map((k) => k.pathKey))) onPath.set(path, (onPath.get(path) ?? 0) + 1);
  }
  // Every group costs each event a lookup; a path few routes test would, if they all filed
  // under it, add a lookup for their share alone, so spread that cost over the routes.
  const cost = (key: Key) =>
    (counts.get(key.id) ?? 0) + KIND_COST[key.kind] + GROUP_COST * (members.length / (onPath.get(key.pathKey) ?? 1));
  const node: IndexNode = { scan: [], groups: [] };
  const groups = new Map<string, Group>();
  for (const r of members) {
    const best = cheapestOption(routes[r]!.pattern, cost, used[r]!);
    if (!best) {
      node.scan.push(r);
      continue;
    }
    used[r]!.add(best.id);
    for (const key of best.keys) file(groupOf(groups, key, slotOf), key, r);
  }
  node.groups = [...groups.values()];
  for (const group of node.groups) finishNumeric(group);
  if (depth + 1 < MAX_DEPTH) {
    for (const bucket of bucketsOf(node)) {
      if (bucket.routes.length > SPLIT_ABOVE) {
        const child = buildIndex(routes, bucket.routes, slotOf, used, depth + 1);
        if (child.scan.length < bucket.routes.length) bucket.child = child;
      }
    }
  }
  return node;
}

/**
 * Appends to `out` every route the index cannot rule out for the flattened event `values`
 * (possibly twice).
 */
export function candidates(node: IndexNode, values: readonly unknown[], out: number[]): void {
  for (const r of node.scan) out.push(r);
  for (const group of node.groups) {
    const value = values[group.slot];
    if (value === undefined) continue;
    if (typeof value === 'object' && value !== null) eachLeaf(value, group, values, out);
    else lookUp(group, value as Leaf, values, out);
  }
}

function eachLeaf(value: object, group: Group, values: readonly unknown[], out: number[]): void {
  if (!Array.isArray(value)) {
    // Only an exact literal (a double in disguise) can reach a key.
    if (isNumberLiteral(value)) lookUp(group, numberLeaf(value) as Leaf, values, out);
    return;
  }
  for (const element of value as unknown[]) {
    if (typeof element === 'object' && element !== null) eachLeaf(element, group, values, out);
    else if (element !== undefined) lookUp(group, element as Leaf, values, out);
  }
}

function lookUp(group: Group, leaf: Leaf, values: readonly unknown[], out: number[]): void {
  if (group.exact) reach(group.exact.get(leaf), values, out);
  if (typeof leaf === 'string') {
    if (group.lower || group.prefixLower || group.suffixLower) {
      const lowered = foldCase(leaf);
      if (group.lower) reach(group.lower.get(lowered), values, out);
      if (group.prefixLower) affixes(group.prefixLower, lowered, true, values, out);
      if (group.suffixLower) affixes(group.suffixLower, lowered, false, values, out);
    }
    if (group.prefix) affixes(group.prefix, leaf, true, values, out);
    if (group.suffix) affixes(group.suffix, leaf, false, values, out);
    if (group.cidr) blocks(group.cidr, leaf, values, out);
  } else if (typeof leaf === 'number' && group.numeric && Number.isFinite(leaf)) {
    reach(group.numeric.cells[cellOf(group.numeric.bounds, leaf)], values, out);
  }
}

function reach(bucket: Bucket | undefined, values: readonly unknown[], out: number[]): void {
  if (bucket === undefined) return;
  if (bucket.child) candidates(bucket.child, values, out);
  else for (const r of bucket.routes) out.push(r);
}

function affixes(index: Affixes, text: string, front: boolean, values: readonly unknown[], out: number[]): void {
  for (const length of index.lengths) {
    if (length > text.length) break;
    reach(index.buckets.get(front ? text.slice(0, length) : text.slice(text.length - length)), values, out);
  }
}

function blocks(index: CidrBlocks, text: string, values: readonly unknown[], out: number[]): void {
  const v4 = ipv4Number(text);
  const v6 = v4 < 0 && text.includes(':') ? parseIp(text) : undefined;
  if (v4 < 0 && v6 === undefined) return;
  for (const [family, length] of index.lengths) {
    if (family === 4 && v4 >= 0) reach(index.buckets.get(length * V4_LENGTH + networkOf(v4, length)), values, out);
    if (family === 6 && v6 !== undefined) reach(index.buckets.get(cidrToken(6, length, v6.value >> BigInt(128 - length))), values, out);
  }
}

function groupOf(groups: Map<string, Group>, key: Key, slotOf: (path: string[]) => number): Group {
  let group = groups.get(key.pathKey);
  if (!group) {
    group = {
      slot: slotOf(key.path),
      pathKey: key.pathKey,
      exact: undefined,
      lower: undefined,
      prefix: undefined,
      prefixLower: undefined,
      suffix: undefined,
      suffixLower: undefined,
      cidr: undefined,
      numeric: undefined,
      numericKeys: undefined,
    };
    groups.set(key.pathKey, group);
  }
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
    case 'cidr': {
      const blocks: CidrBlocks = (group.cidr ??= { lengths: [], buckets: new Map<number | string, Bucket>() });
      const [family, length, network] = (key.token as string).split('/').map(Number) as [4 | 6, number, number];
      if (!blocks.lengths.some(([f, l]) => f === family && l === length)) blocks.lengths.push([family, length]);
      return add(blocks.buckets, family === 4 ? length * V4_LENGTH + network : (key.token as string), route);
    }
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
  } else map.set(token, { routes: [route], child: undefined });
}

/**
 * Numeric filters become cells between the sorted interval bounds; each interval is filed in
 * every cell it overlaps, so a number finds its candidates with one binary search.
 */
function finishNumeric(group: Group): void {
  if (!group.numericKeys) return;
  const bounds = [...new Set(group.numericKeys.flatMap(([, [low, high]]) => [low, high]).filter(Number.isFinite))].sort((a, b) => a - b);
  // Cell 2i+1 is the bound itself, cell 2i the open gap below it: "<= 5" and "> 5" part there.
  const cells: Bucket[] = Array.from({ length: bounds.length * 2 + 1 }, () => ({ routes: [], child: undefined }));
  for (const [route, [low, high]] of group.numericKeys) {
    for (let c = cellOf(bounds, low); c <= cellOf(bounds, high); c++) cells[c]!.routes.push(route);
  }
  group.numeric = { bounds, cells };
  group.numericKeys = undefined;
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
    ...[g.prefix, g.prefixLower, g.suffix, g.suffixLower, g.cidr].flatMap((a) => [...(a?.buckets.values() ?? [])]),
    ...(g.numeric?.cells ?? []),
  ]);
}
