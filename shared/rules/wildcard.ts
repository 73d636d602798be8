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
