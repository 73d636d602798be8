/*
 * String operators compare code points, as EventBridge compares UTF-8: a prefix, suffix or
 * wildcard piece never ends or starts in the middle of a surrogate pair, so a lone surrogate
 * is not a prefix of an emoji. Pairs only exist outside the BMP, so these checks cost a
 * character comparison on ordinary text.
 */

/** Whether position `at` of `text` falls between the two halves of a surrogate pair. */
export function splitsPair(text: string, at: number): boolean {
  if (at <= 0 || at >= text.length) return false;
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(at);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
}

export function hasPrefix(text: string, prefix: string): boolean {
  return text.startsWith(prefix) && !splitsPair(text, prefix.length);
}

export function hasSuffix(text: string, suffix: string): boolean {
  return text.endsWith(suffix) && !splitsPair(text, text.length - suffix.length);
}

/** The first index ≥ `from` where `piece` occurs on code point boundaries, or -1. */
export function indexOfPiece(text: string, piece: string, from: number): number {
  let at = text.indexOf(piece, from);
  while (at >= 0 && (splitsPair(text, at) || splitsPair(text, at + piece.length))) at = text.indexOf(piece, at + 1);
  return at;
}
