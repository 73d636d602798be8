import { InvalidEventError } from '../core/index.ts';

/*
 * Tiny readers for untrusted input: each checks one field and says where the problem is.
 * Codecs use them so every InvalidEventError names the field and what was expected.
 */

export function asObject(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidEventError(`${where}: expected a JSON object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function requiredString(obj: Record<string, unknown>, key: string, where: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '') {
    throw new InvalidEventError(`${where}.${key}: expected a non-empty string, got ${describe(v)}`);
  }
  return v;
}

export function optionalString(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidEventError(`${where}.${key}: expected a string, got ${describe(v)}`);
  return v;
}

/**
 * How deep a document read from the wire may nest. Events are records, not trees: 64 is
 * far past any real one, and it keeps every recursive walk (matching, templates, storage)
 * well inside the stack. Checked on the text, before `JSON.parse`.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Parse JSON from outside: nesting past `MAX_JSON_DEPTH` and numbers `JSON.parse` turns into
 * Infinity (`1e400`, stored later as `null`) are refused with where they are, so the event
 * kept is the event sent.
 *
 * @example parseJson('{"total":1e400}', 'Entries[0].Detail') // throws: Entries[0].Detail.total: …
 */
export function parseJson(text: string, where: string): unknown {
  checkJsonDepth(text, where);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InvalidEventError(`${where}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  checkFinite(value, where);
  return value;
}

/** One pass over the text, no recursion: brackets inside strings are text. */
function checkJsonDepth(text: string, where: string, max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) throw new InvalidEventError(`${where}: nested deeper than ${max} levels (at character ${i}); an event is a record, not a tree that deep`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/** Depth is bounded by checkJsonDepth, so this walk cannot exhaust the stack. */
function checkFinite(value: unknown, path: string): void {
  // The path of the offending number is built only when there is one: most events have none.
  const at = nonFinitePath(value);
  if (at === undefined) return;
  const where = at.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : /^[A-Za-z_$][\w$-]*$/.test(k) ? `${p}.${k}` : `${p}[${JSON.stringify(k)}]`), path);
  throw new InvalidEventError(`${where}: the number is too large to be a finite double (it would be stored as null); send it as a string`);
}

/** The keys from `value` down to its first number that is not finite (JSON's 1e999), or undefined. */
function nonFinitePath(value: unknown): (string | number)[] | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : [];
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const below = nonFinitePath(value[i]);
      if (below) return [i, ...below];
    }
    return undefined;
  }
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const below = nonFinitePath((value as Record<string, unknown>)[k]);
    if (below) return [k, ...below];
  }
  return undefined;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes from the wire as text, refusing what is not UTF-8 rather than replacing it with
 * U+FFFD (which would change the event without anyone knowing).
 *
 * @example decodeUtf8(body, 'PutEvents request')
 */
export function decodeUtf8(bytes: Uint8Array, where: string): string {
  try {
    return UTF8.decode(bytes);
  } catch (cause) {
    throw new InvalidEventError(`${where}: not valid UTF-8; send the text encoded as UTF-8`, { cause });
  }
}

/** C0 and C1 control characters and DEL: never part of an identifier, and they rewrite terminals. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * `value` when it has no control character; otherwise an error naming the attribute and
 * the first offending character. For ids, sources, types and the like, not for data.
 */
export function checkAttribute(value: string, where: string): string {
  const m = CONTROL.exec(value);
  if (m) {
    const code = `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw new InvalidEventError(`${where}: contains a control character (${code} at position ${m.index}); attributes must be printable text`);
  }
  return value;
}

/** `requiredString` for an attribute: also refuses control characters. */
export function requiredAttribute(obj: Record<string, unknown>, key: string, where: string): string {
  return checkAttribute(requiredString(obj, key, where), `${where}.${key}`);
}

/** `optionalString` for an attribute: also refuses control characters. */
export function optionalAttribute(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = optionalString(obj, key, where);
  return v === undefined ? undefined : checkAttribute(v, `${where}.${key}`);
}

/** Checks an RFC 3339 timestamp the way CloudEvents and EventBridge expect it. */
export function checkTime(value: string, where: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidEventError(`${where}: expected an RFC 3339 timestamp like 2026-11-22T08:00:00Z, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
