import { readFile } from 'node:fs/promises';
import { InvalidEventError, InvalidPatternError } from '../../../shared/core/index.ts';
import { explainMismatch, testEventPattern } from '../../../shared/rules/index.ts';
import { COMMON_HELP, parseCommand, UsageError } from '../options.ts';

export const TEST_PATTERN_HELP = `mesh test-pattern — does an event match an EventBridge event pattern?

Usage: mesh test-pattern --pattern <file|json> --event <file|json> [--json]

Like \`aws events test-event-pattern\`, offline. Each of --pattern and --event is inline JSON
(starting with "{") or a file holding it. Prints whether the event matches and, when it does
not, the first field that failed. Exits 0 on a match, 1 on no match, 2 when the call is wrong
or the pattern is invalid (with the path inside the pattern).
${COMMON_HELP}`;

export async function testPatternCommand(args: string[]): Promise<number> {
  const { values } = parseCommand(args, { pattern: { type: 'string' }, event: { type: 'string' } });
  if (values.help) return (console.log(TEST_PATTERN_HELP), 0);
  if (typeof values.pattern !== 'string' || typeof values.event !== 'string') {
    throw new UsageError('mesh test-pattern needs both --pattern and --event');
  }
  const patternText = await jsonArgument(values.pattern, '--pattern');
  const eventText = await jsonArgument(values.event, '--event');
  let matches: boolean;
  try {
    matches = testEventPattern(patternText, eventText);
  } catch (err) {
    if (err instanceof InvalidPatternError) {
      const where = err.path === '' ? 'the pattern' : `pattern path ${err.path}`;
      return fail(values.json === true, { error: 'InvalidPattern', path: err.path, message: err.message }, `invalid pattern (${where}): ${err.message}`);
    }
    if (err instanceof InvalidEventError) {
      return fail(values.json === true, { error: 'InvalidEvent', message: err.message }, `invalid event: ${err.message}`);
    }
    throw err;
  }
  // testEventPattern validated both, so the parsed forms are a valid pattern and an object.
  const reason = matches ? undefined : explainMismatch(JSON.parse(patternText) as Record<string, unknown>, JSON.parse(eventText));
  if (values.json === true) console.log(JSON.stringify(matches ? { matches } : { matches, reason }, null, 2));
  else console.log(matches ? 'Matches.' : `Does not match: ${reason}`);
  return matches ? 0 : 1;
}

/** Inline JSON when the value starts with "{", else the text of the file it names. */
async function jsonArgument(value: string, option: string): Promise<string> {
  if (value.trimStart().startsWith('{')) return value;
  try {
    return await readFile(value, 'utf8');
  } catch (err) {
    throw new UsageError(`${option}: cannot read ${JSON.stringify(value)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function fail(json: boolean, body: Record<string, unknown>, line: string): number {
  if (json) console.log(JSON.stringify(body, null, 2));
  else console.error(`mesh test-pattern: ${line}`);
  return 2;
}
