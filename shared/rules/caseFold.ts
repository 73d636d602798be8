import { splitsPair } from './codePoints.ts';

/*
 * equals-ignore-case as EventBridge decides it: each code point of the pattern stands for its
 * lower-case or its upper-case form (full mappings, no locale), and the event must spell one
 * of the two at that place. So "ß" accepts "SS", "ı" accepts "I", "I" accepts "i" but not
 * "ı", and the Kelvin sign K does not stand for "k". It is not symmetric, and it is not
 * JavaScript's toLowerCase() on both sides.
 *
 * `foldCase` is the index's key for such a value: every code point mapped to lower(upper(lower
 * (c))). Whenever a string is a case variant of a pattern, both fold to the same key (checked
 * over every code point by the tests), so filing routes under it never loses a match.
 */

const NON_ASCII = /[\u0080-\u{10ffff}]/u;

/** Whether `text` is plain ASCII, where case is one letter for one letter. */
export function isAscii(text: string): boolean {
  return !NON_ASCII.test(text);
}

/** The key under which every case variant of `text` is found. */
export function foldCase(text: string): string {
  if (isAscii(text)) return text.toLowerCase();
  let folded = '';
  for (const c of text) folded += c.toLowerCase().toUpperCase().toLowerCase();
  return folded;
}

/**
 * The case variants of a non-ASCII pattern: for its i-th code point, [2i] is the lower-case and
 * [2i+1] the upper-case form. Undefined for ASCII, which the callers compare lower-cased.
 * Neither form of a code point is ever a prefix of the other, so matching needs no backtracking.
 */
export function caseVariants(pattern: string): string[] | undefined {
  if (isAscii(pattern)) return undefined;
  const variants: string[] = [];
  for (const c of pattern) variants.push(c.toLowerCase(), c.toUpperCase());
  return variants;
}

/** Where a case variant of the pattern starting at `from` ends in `text`, or -1. */
export function variantEnd(variants: string[], text: string, from: number): number {
  let at = from;
  for (let i = 0; i < variants.length; i += 2) {
    const lower = variants[i]!;
    const upper = variants[i + 1]!;
    if (text.startsWith(lower, at)) at += lower.length;
    else if (text.startsWith(upper, at)) at += upper.length;
    else return -1;
  }
  return at;
}

/** Where a case variant of the pattern ending at `end` starts in `text`, or -1. */
export function variantStart(variants: string[], text: string, end: number): number {
  let at = end;
  for (let i = variants.length - 2; i >= 0; i -= 2) {
    const lower = variants[i]!;
    const upper = variants[i + 1]!;
    if (at >= lower.length && text.endsWith(lower, at)) at -= lower.length;
    else if (at >= upper.length && text.endsWith(upper, at)) at -= upper.length;
    else return -1;
  }
  return at;
}

/*
 * The three comparisons. `lowered` is the pattern lower-cased, used when `variants` is
 * undefined (an ASCII pattern): then the event's text must be ASCII too at that place.
 */

export function equalsIgnoringCase(text: string, lowered: string, variants: string[] | undefined): boolean {
  if (variants !== undefined) return variantEnd(variants, text, 0) === text.length;
  return text.length === lowered.length && text.toLowerCase() === lowered && isAscii(text);
}

export function startsIgnoringCase(text: string, lowered: string, variants: string[] | undefined): boolean {
  if (variants !== undefined) {
    const end = variantEnd(variants, text, 0);
    return end >= 0 && !splitsPair(text, end);
  }
  if (text.length < lowered.length) return false;
  const head = text.slice(0, lowered.length);
  return head.toLowerCase() === lowered && isAscii(head);
}

export function endsIgnoringCase(text: string, lowered: string, variants: string[] | undefined): boolean {
  if (variants !== undefined) {
    const start = variantStart(variants, text, text.length);
    return start >= 0 && !splitsPair(text, start);
  }
  if (text.length < lowered.length) return false;
  const tail = text.slice(text.length - lowered.length);
  return tail.toLowerCase() === lowered && isAscii(tail);
}
