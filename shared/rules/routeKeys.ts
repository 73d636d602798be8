import { foldCase } from './caseFold.ts';
import { isPlainObject, type Leaf } from './eventValues.ts';
import { isExactLiteral, isNumberLiteral, numberLeaf } from './jsonNumbers.ts';
import { parseCidr } from './cidr.ts';
import { parseWildcard } from './wildcard.ts';

/*
 * Necessary conditions: for a validated pattern, sets of keys such that an event can match
 * only if one key of the set holds for some leaf value at the key's path. Fields are ANDed,
 * so any one field's keys will do; an `$or` needs keys from every alternative. Keys are only
 * a filter — the full pattern still decides — so they may be looser than the rule (a
 * wildcard keys on its literal prefix), never stricter.
 */

export type KeyKind = 'exact' | 'lower' | 'prefix' | 'prefixLower' | 'suffix' | 'suffixLower' | 'cidr' | 'numeric';

export interface Key {
  path: string[];
  /** The path as one string, for grouping: JSON keeps keys with dots apart. */
  pathKey: string;
  kind: KeyKind;
  /** The value, lower-cased text, affix, cidr block, or (numeric) the closed interval that holds every match. */
  token: Leaf | [number, number];
  /** Identity of the key, for counting how many routes share it. */
  id: string;
}

/** One usable filter for a pattern: the event must satisfy at least one of these keys. */
export interface KeyOption {
  keys: Key[];
  id: string;
}

/** Every key any leaf of `pattern` offers (inside `$or` too): what the index counts. */
export function allKeys(pattern: Record<string, unknown>, path: string[] = []): Key[] {
  return Object.entries(pattern).flatMap(([field, sub]) => {
    if (field === '$or' && Array.isArray(sub)) return sub.flatMap((alternative) => allKeys(alternative as Record<string, unknown>, path));
    if (Array.isArray(sub)) return leafKeys(sub, [...path, field]) ?? [];
    return isPlainObject(sub) ? allKeys(sub, [...path, field]) : [];
  });
}

/**
 * The cheapest filter of `pattern` under `cost`, skipping options whose id is in `exclude`:
 * any one field's keys will do (fields are ANDed); an `$or` offers the cheapest filters of
 * all its alternatives together.
 */
export function cheapestOption(
  pattern: Record<string, unknown>,
  cost: (key: Key) => number,
  exclude: ReadonlySet<string>,
  path: string[] = [],
): KeyOption | undefined {
  let best: KeyOption | undefined;
  let bestCost = Infinity;
  const consider = (candidate: KeyOption | undefined) => {
    if (!candidate || exclude.has(candidate.id)) return;
    const total = candidate.keys.reduce((sum, key) => sum + cost(key), 0);
    if (total < bestCost) [best, bestCost] = [candidate, total];
  };
  for (const [field, sub] of Object.entries(pattern)) {
    if (field === '$or' && Array.isArray(sub)) {
      const parts = sub.map((alternative) => cheapestOption(alternative as Record<string, unknown>, cost, NONE, path));
      if (parts.every((part) => part !== undefined)) consider(option(parts.flatMap((part) => part!.keys)));
    } else if (Array.isArray(sub)) {
      const keys = leafKeys(sub, [...path, field]);
      if (keys) consider(option(keys));
    } else if (isPlainObject(sub)) {
      consider(cheapestOption(sub, cost, exclude, [...path, field]));
    }
  }
  return best;
}

const NONE: ReadonlySet<string> = new Set();

/** Keys for a leaf when every rule in it can be keyed; a rule that can't (exists, anything-but) spoils the leaf. */
function leafKeys(rules: unknown[], path: string[]): Key[] | undefined {
  const keys: Key[] = [];
  for (const rule of rules) {
    const key = ruleKey(rule, path);
    if (!key) return undefined;
    keys.push(key);
  }
  return keys;
}

function ruleKey(rule: unknown, path: string[]): Key | undefined {
  if (isNumberLiteral(rule)) return isExactLiteral(rule.rawJSON) ? key(path, 'exact', Number(rule.rawJSON)) : undefined;
  if (!isPlainObject(rule)) return key(path, 'exact', rule as Leaf);
  const [operator, argument] = Object.entries(rule)[0] ?? [];
  const ignoreCase = isPlainObject(argument) ? foldCase(String(argument['equals-ignore-case'])) : undefined;
  switch (operator) {
    case 'equals-ignore-case':
      return key(path, 'lower', foldCase(String(argument)));
    case 'prefix':
      return ignoreCase === undefined ? key(path, 'prefix', String(argument)) : key(path, 'prefixLower', ignoreCase);
    case 'suffix':
      return ignoreCase === undefined ? key(path, 'suffix', String(argument)) : key(path, 'suffixLower', ignoreCase);
    case 'wildcard': {
      const pieces = parseWildcard(String(argument), '');
      const [first = '', last = ''] = [pieces[0], pieces[pieces.length - 1]];
      if (pieces.length === 1) return key(path, 'exact', first);
      if (first !== '') return key(path, 'prefix', first);
      return last !== '' ? key(path, 'suffix', last) : undefined;
    }
    case 'numeric':
      return key(path, 'numeric', interval(argument as unknown[]));
    case 'cidr': {
      const block = parseCidr(String(argument), '');
      const length = block.bits - Number(block.shift);
      return key(path, 'cidr', cidrToken(block.bits === 32 ? 4 : 6, length, block.network));
    }
    default:
      return undefined;
  }
}

function interval(comparisons: unknown[]): [number, number] {
  let [low, high] = [-Infinity, Infinity];
  for (let i = 0; i < comparisons.length; i += 2) {
    // Operands are validated: numbers, or literals a double holds exactly.
    const [comparator, operand] = [comparisons[i], Number(numberLeaf(comparisons[i + 1]))];
    if (comparator === '=' || comparator === '>' || comparator === '>=') low = operand;
    if (comparator === '=' || comparator === '<' || comparator === '<=') high = operand;
  }
  return [low, high];
}

function key(path: string[], kind: KeyKind, token: Leaf | [number, number]): Key {
  const pathKey = JSON.stringify(path);
  return { path, pathKey, kind, token, id: `${pathKey}\u0000${kind}\u0000${JSON.stringify(token)}\u0000${typeof token}` };
}

function option(keys: Key[]): KeyOption {
  return { keys, id: keys.map((k) => k.id).sort().join('\u0001') };
}

/** How a cidr key is written, here and when an address is looked up: family, prefix length, network. */
export function cidrToken(family: 4 | 6, length: number, network: number | bigint): string {
  return `${family}/${length}/${network}`;
}
