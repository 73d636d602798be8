import { isPlainObject } from './eventValues.ts';
import { isNumberLiteral } from './jsonNumbers.ts';

/** `detail` + `amount` → `detail.amount`; the root path is the empty string. */
export function joinPath(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

export function indexPath(base: string, index: number): string {
  return `${base}[${index}]`;
}

/** JSON with a space after `,` and `:`, so messages read like the pattern a person wrote. */
export function formatJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(formatJson).join(', ')}]`;
  if (isPlainObject(value)) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}: ${formatJson(v)}`)
      .join(', ')}}`;
  }
  if (value === undefined) return 'undefined';
  return JSON.stringify(value) ?? String(value);
}

/** `formatJson`, cut to `max` characters: event values can be arbitrarily large. */
export function preview(value: unknown, max = 80): string {
  const text = formatJson(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `number 5`, `string "5"`, `null`, `array [1, 2]` — for "expected …, got …" messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `array ${preview(value, 40)}`;
  if (isPlainObject(value)) return `object ${preview(value, 40)}`;
  if (isNumberLiteral(value)) return `number ${preview(value, 40)}`;
  return `${typeof value} ${preview(value, 40)}`;
}
