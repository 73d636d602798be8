import { InvalidEventError, InvalidPatternError } from '../core/errors.ts';
import { isPlainObject } from './eventValues.ts';
import { describeValue } from './format.ts';
import { readJson } from './jsonNumbers.ts';
import { matchesPattern } from './matchesPattern.ts';
import { validatePattern } from './validatePattern.ts';

/**
 * Does `event` match `pattern`? Both may be objects or JSON text (read keeping every number
 * literal's exact value, which JSON.parse would round to a double). The pattern is validated
 * first; then the reference interpreter decides. The mesh's `aws events test-event-pattern`.
 *
 * @throws InvalidPatternError when the pattern is bad JSON or breaks the pattern language.
 * @throws InvalidEventError when the event is bad JSON or not a JSON object.
 * @example
 * testEventPattern('{"source": ["shop"]}', '{"source": "shop", "detail": {}}'); // true
 */
export function testEventPattern(pattern: unknown, event: unknown): boolean {
  const parsedPattern = typeof pattern === 'string' ? parseJson(pattern, 'pattern') : pattern;
  validatePattern(parsedPattern);
  const parsedEvent = typeof event === 'string' ? parseJson(event, 'event') : event;
  if (!isPlainObject(parsedEvent)) {
    throw new InvalidEventError(`an event must be a JSON object, got ${describeValue(parsedEvent)}`);
  }
  return matchesPattern(parsedPattern as Record<string, unknown>, parsedEvent);
}

function parseJson(text: string, what: 'pattern' | 'event'): unknown {
  try {
    return readJson(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const message = `the ${what} is not valid JSON: ${reason}`;
    throw what === 'pattern' ? new InvalidPatternError(message, '', { cause }) : new InvalidEventError(message, { cause });
  }
}
