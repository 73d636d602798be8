import { endsIgnoringCase, equalsIgnoringCase, startsIgnoringCase } from './caseFold.ts';
import { parseIp, type CidrBlock } from './cidr.ts';
import { hasPrefix, hasSuffix, indexOfPiece } from './codePoints.ts';
import type { Leaf } from './eventValues.ts';
import { decimalKey, isNumberLiteral } from './jsonNumbers.ts';

/*
 * One operator of a pattern leaf as plain data, decided by the one function below. Every
 * test has the same shape whatever its operator, so `passes` sees a single object layout and
 * V8 keeps it fast however many routes there are — unlike a closure per rule, each called
 * too rarely to be optimised.
 */

export const Op = {
  prefix: 0,
  suffix: 1,
  prefixLower: 2,
  suffixLower: 3,
  lower: 4,
  wildcard: 5,
  cidr: 6,
  numeric: 7,
  /** anything-but a value or a list of values: `set` holds them. */
  notValues: 8,
  /** anything-but {prefix}, {suffix}, {equals-ignore-case} or {wildcard}: none of `list` passes. */
  notAny: 9,
  /** A number literal no double holds: `text` is its decimalKey. */
  literal: 10,
} as const;

export type OpCode = (typeof Op)[keyof typeof Op];

export interface RuleTest {
  op: OpCode;
  /** prefix, suffix, lower-cased value, a wildcard's first piece, or a literal's decimalKey. */
  text: string;
  /** For a non-ASCII equals-ignore-case value: its case variants (caseFold.ts). */
  variants: string[] | undefined;
  /** A wildcard's last piece, and the non-empty pieces between (only with `multi`). */
  last: string;
  middle: string[];
  multi: boolean;
  set: Set<unknown> | null;
  list: RuleTest[];
  /** numeric bounds; for an IPv4 cidr, `low` is the network and `high` the prefix length. */
  low: number;
  high: number;
  lowOpen: boolean;
  highOpen: boolean;
  block: CidrBlock | null;
}

/** A test with every field present, so that all tests share one object layout. */
export function ruleTest(op: OpCode, fields: Partial<Omit<RuleTest, 'op'>> = {}): RuleTest {
  return {
    op,
    text: fields.text ?? '',
    variants: fields.variants,
    last: fields.last ?? '',
    middle: fields.middle ?? [],
    multi: fields.multi ?? false,
    set: fields.set ?? null,
    list: fields.list ?? [],
    low: fields.low ?? -Infinity,
    high: fields.high ?? Infinity,
    lowOpen: fields.lowOpen ?? false,
    highOpen: fields.highOpen ?? false,
    block: fields.block ?? null,
  };
}

/**
 * Whether `leaf` passes `test`. A leaf is a JSON scalar; a number may be non-finite or a
 * NumberLiteral (no double holds it), which only anything-but and an equal literal accept.
 */
export function passes(test: RuleTest, leaf: Leaf): boolean {
  switch (test.op) {
    case Op.notValues:
      return !test.set!.has(leaf);
    case Op.numeric:
      return (
        typeof leaf === 'number' &&
        (test.lowOpen ? leaf > test.low : leaf >= test.low) &&
        (test.highOpen ? leaf < test.high : leaf <= test.high) &&
        Number.isFinite(leaf)
      );
    case Op.literal:
      return isNumberLiteral(leaf) && decimalKey(leaf.rawJSON) === test.text;
  }
  // String operators: anything-but one of them accepts every value that is not a string.
  if (typeof leaf !== 'string') return test.op === Op.notAny;
  switch (test.op) {
    case Op.prefix:
      return hasPrefix(leaf, test.text);
    case Op.suffix:
      return hasSuffix(leaf, test.text);
    case Op.prefixLower:
      return startsIgnoringCase(leaf, test.text, test.variants);
    case Op.suffixLower:
      return endsIgnoringCase(leaf, test.text, test.variants);
    case Op.lower:
      return equalsIgnoringCase(leaf, test.text, test.variants);
    case Op.wildcard:
      return wildcardPasses(test, leaf);
    case Op.cidr:
      return cidrPasses(test, leaf);
    default:
      for (const excluded of test.list) if (passes(excluded, leaf)) return false;
      return true;
  }
}

/** Leftmost placement of the middle pieces suffices: it leaves the most room for the rest. */
function wildcardPasses(test: RuleTest, value: string): boolean {
  if (!test.multi) return value === test.text;
  const { text: first, last } = test;
  if (value.length < first.length + last.length || !hasPrefix(value, first) || !hasSuffix(value, last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (const piece of test.middle) {
    const found = indexOfPiece(value, piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

function cidrPasses(test: RuleTest, text: string): boolean {
  const block = test.block!;
  if (block.bits === 32) {
    const ip = ipv4Number(text);
    return ip >= 0 && networkOf(ip, test.high) === test.low;
  }
  const ip = parseIp(text);
  return ip !== undefined && ip.bits === 128 && ip.value >> block.shift === block.network;
}

/** The first `length` bits of an IPv4 address as a number (0 for a /0). */
export function networkOf(ip: number, length: number): number {
  return length === 0 ? 0 : ip >>> (32 - length);
}

/**
 * A dotted-quad IPv4 address as an unsigned number, or -1 when `text` is not one; the same
 * rule as cidr.ts (one to three digits per octet, each at most 255) without a regex or bigint.
 */
export function ipv4Number(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return -1;
      octet = octet * 10 + (c - 48);
    } else if (c === 46 && digits > 0 && dots < 3) {
      if (octet > 255) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0 || octet > 255) return -1;
  return value * 256 + octet;
}
