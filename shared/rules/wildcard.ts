import { InvalidPatternError } from '../core/errors.ts';

/*
 * The `wildcard` operator: `*` stands for any run of characters (also none), `\*` is a
 * literal asterisk and `\\` a literal backslash. EventBridge refuses `**` and a backslash
 * before any other character, so we do too.
 */

/**
 * Validates a wildcard value and returns its literal pieces: `"a*b\\*c"` → `["a", "b*c"]`.
 * There is always one more piece than wildcards; a pattern without `*` has a single piece.
 */
export function parseWildcard(text: string, path: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let afterWildcard = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\') {
      const next = text[i + 1];
      if (next !== '*' && next !== '\\') {
        throw new InvalidPatternError(
          `a backslash in a wildcard may only escape "*" or "\\", in ${JSON.stringify(text)}`,
          path,
        );
      }
      current += next;
      i++;
      afterWildcard = false;
    } else if (char === '*') {
      if (afterWildcard) {
        throw new InvalidPatternError(`consecutive wildcard characters ("**") are not allowed, in ${JSON.stringify(text)}`, path);
      }
      pieces.push(current);
      current = '';
      afterWildcard = true;
    } else {
      current += char;
      afterWildcard = false;
    }
  }
  pieces.push(current);
  return pieces;
}

/**
 * A predicate for parsed wildcard pieces. Leftmost-first placement of the middle pieces is
 * enough: if any placement fits, the leftmost one leaves the most room for the rest.
 */
export function wildcardMatcher(pieces: string[]): (value: string) => boolean {
  const first = pieces[0] ?? '';
  if (pieces.length === 1) return (value) => value === first;
  const last = pieces[pieces.length - 1] ?? '';
  const middle = pieces.slice(1, -1).filter((piece) => piece !== '');
  const fixed = first.length + last.length;
  return (value) => {
    if (value.length < fixed || !value.startsWith(first) || !value.endsWith(last)) return false;
    let at = first.length;
    const end = value.length - last.length;
    for (const piece of middle) {
      const found = value.indexOf(piece, at);
      if (found < 0 || found + piece.length > end) return false;
      at = found + piece.length;
    }
    return true;
  };
}
