import { InvalidPatternError } from '../core/errors.ts';

/*
 * JSON numbers as EventBridge sees them. A number literal is *exact* when its decimal value
 * is the one its nearest double prints as (5, 5.0, 3.018e2, 0.1); EventBridge compares those
 * by value, and so do we, as plain JavaScript numbers. Any other literal (9007199254740993,
 * 0.10000000000000000001, 1e400, 1e-400) has no double of its own: EventBridge never lets it
 * satisfy `numeric`, refuses it as an operand, and still matches it as a value. Such a literal
 * is kept as `JSON.rawJSON(text)` — a frozen, null-prototype object that JSON.stringify writes
 * back verbatim — and compared by its exact decimal value.
 */

/** An inexact JSON number with its literal text, as `JSON.rawJSON` makes it. */
export interface NumberLiteral {
  readonly rawJSON: string;
}

/** The parts of JSON that Node 24 has and the ES2023 typings lack. */
const Json = JSON as JSON & { rawJSON(text: string): NumberLiteral; isRawJSON(value: unknown): boolean };

export function isNumberLiteral(value: unknown): value is NumberLiteral {
  return typeof value === 'object' && value !== null && Json.isRawJSON(value);
}

/** The literal `text` (a JSON number) as a NumberLiteral. */
export function numberLiteral(text: string): NumberLiteral {
  return Json.rawJSON(text);
}

const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?$/;

/**
 * The exact decimal value of a JSON number literal as a canonical string (`-12e3` for
 * -12000, `0` for any zero), or undefined when `text` is not one. Equal keys, equal values.
 */
export function decimalKey(text: string): string | undefined {
  const parts = NUMBER.exec(text);
  if (!parts) return undefined;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = parts;
  const digits = (whole + fraction).replace(/^0+/, '');
  if (digits === '') return '0';
  const trimmed = digits.replace(/0+$/, '');
  // The exponent may be huge (1e999999999999): BigInt keeps the arithmetic exact.
  const scale = BigInt(exponent) - BigInt(fraction.length) + BigInt(digits.length - trimmed.length);
  return `${sign}${trimmed}e${scale}`;
}

/** Whether a finite double holds the literal's value exactly, as EventBridge decides it. */
export function isExactLiteral(text: string): boolean {
  const value = Number(text);
  return Number.isFinite(value) && decimalKey(String(value)) === decimalKey(text);
}

/**
 * A number as the matchers compare it: the literal's double when it is exact, else the
 * literal itself. Any other value passes through.
 */
export function numberLeaf(value: unknown): unknown {
  return isNumberLiteral(value) && isExactLiteral(value.rawJSON) ? Number(value.rawJSON) : value;
}

/**
 * A pattern operand that must be compared as a number (numeric, anything-but): its double, or
 * InvalidPatternError when no double holds it — EventBridge refuses such a pattern.
 */
export function exactOperand(value: number | NumberLiteral, path: string, what: string): number {
  const text = typeof value === 'number' ? String(value) : value.rawJSON;
  const double = Number(text);
  if (!Number.isFinite(double)) {
    throw new InvalidPatternError(`${what} compares numbers as doubles, and ${text} is beyond their range`, path);
  }
  if (typeof value !== 'number' && !isExactLiteral(text)) {
    throw new InvalidPatternError(
      `${what} compares numbers as doubles, and no double is exactly ${text} (the nearest is ${String(double)})`,
      path,
    );
  }
  return double;
}

/**
 * JSON.parse, keeping every inexact number literal as `JSON.rawJSON(text)` so that matching
 * sees its exact value; exact numbers stay plain numbers.
 *
 * @example
 * readJson('{"id": 9007199254740993, "n": 5}'); // { id: JSON.rawJSON('9007199254740993'), n: 5 }
 */
export function readJson(text: string): unknown {
  return JSON.parse(text, keepInexact) as unknown;
}

function keepInexact(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  const source = context?.source;
  return typeof value === 'number' && source !== undefined && !isExactLiteral(source) ? Json.rawJSON(source) : value;
}
