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

export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new InvalidEventError(`${where}: not valid JSON (${(cause as Error).message})`, { cause });
  }
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
