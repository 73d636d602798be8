import { z } from 'zod';
import { describeValue, oneOf, valueAt, type PathSegment } from './describe.ts';
import { didYouMean } from './didYouMean.ts';
import type { YamlSource } from './YamlSource.ts';

/*
 * zod's default messages are written for developers ("Invalid input: expected number,
 * received undefined"). Config is read by integration teams and on-call engineers, so every
 * issue is rewritten here as `expected <what>, got <what was found>`, at the path of the value
 * (unknown keys at the key itself, with a did-you-mean).
 */

type Issue = z.core.$ZodIssue;

/** Parse `data` with `schema`; report each problem on `source` and return the parsed value (or undefined). */
export function parseWith<T extends z.ZodType>(schema: T, source: YamlSource, data: unknown, skip: ReadonlySet<string> = new Set()): z.output<T> | undefined {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  for (const issue of result.error.issues) reportIssue(issue, [], schema, source, data, skip);
  return undefined;
}

function reportIssue(issue: Issue, prefix: PathSegment[], schema: z.ZodType, source: YamlSource, data: unknown, skip: ReadonlySet<string>): void {
  const path = [...prefix, ...(issue.path as PathSegment[])];
  const value = valueAt(data, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schema, path);
      for (const key of issue.keys) {
        if (skip.has(JSON.stringify([...path, key]))) continue;
        const guess = didYouMean(key, known);
        const hint = guess ? ` (did you mean "${guess}"?)` : known.length > 0 ? ` (expected one of ${oneOf(known)})` : '';
        source.report([...path, key], `unknown key "${key}"${hint}`, 'key');
      }
      return;
    }
    case 'invalid_union': {
      const options = (issue as { options?: unknown }).options;
      if ('discriminator' in issue && Array.isArray(options)) {
        return source.report(path, `expected one of ${oneOf(options)}, got ${describeValue(value)}`);
      }
      // A mapping that fits one alternative's shape: that alternative's own problems say more
      // than "matches none". Scalars get the union's summary ("expected a | b or {…}").
      const plausible = issue.errors.filter((errs) => !errs.some((e) => e.code === 'invalid_type' && e.path.length === 0));
      const isMapping = value !== null && typeof value === 'object' && !Array.isArray(value);
      if (plausible.length === 1 && (isMapping || !issue.message.startsWith('expected'))) {
        for (const e of plausible[0] ?? []) reportIssue(e, path, schema, source, data, skip);
        return;
      }
      return source.report(path, withFound(issue.message, value));
    }
    default:
      return source.report(path, messageFor(issue, value));
  }
}

function messageFor(issue: Issue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return `missing: expected ${article(issue.expected)}`;
      return `expected ${article(issue.expected)}, got ${describeValue(value)}`;
    case 'invalid_value':
      return `expected ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${oneOf(issue.values)}`}, got ${describeValue(value)}`;
    case 'too_small':
      if (issue.origin === 'string') return `expected a non-empty string, got ${describeValue(value)}`;
      if (issue.origin === 'array') return `expected at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}, got ${describeValue(value)}`;
      return `expected a number ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}, got ${describeValue(value)}`;
    case 'too_big':
      return `expected a number ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}, got ${describeValue(value)}`;
    default:
      return withFound(issue.message, value);
  }
}

/** Custom messages in our schemas start with "expected …"; add what was found. */
function withFound(message: string, value: unknown): string {
  return message.startsWith('expected') && !message.includes(', got ') ? `${message}, got ${describeValue(value)}` : message;
}

function article(expected: string): string {
  const words: Record<string, string> = { int: 'an integer', object: 'a mapping', array: 'a list', tuple: 'a list', record: 'a mapping', number: 'a number', string: 'a string', boolean: 'true or false' };
  return words[expected] ?? expected;
}

/** The keys an object schema at `path` accepts (union alternatives merged), for did-you-mean. */
export function knownKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodUnion) return [...new Set((s.options as z.ZodType[]).flatMap((o) => knownKeys(o, path)))];
  if (path.length === 0) return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
  const [head, ...rest] = path;
  if (s instanceof z.ZodObject) {
    const child = (s.shape as Record<string, z.ZodType>)[String(head)];
    return child ? knownKeys(child, rest) : [];
  }
  if (s instanceof z.ZodArray) return knownKeys(s.element as z.ZodType, rest);
  if (s instanceof z.ZodRecord) return knownKeys(s.valueType as z.ZodType, rest);
  return [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else return s;
  }
}
