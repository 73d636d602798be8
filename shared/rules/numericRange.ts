import { InvalidPatternError } from '../core/errors.ts';
import { describeValue, preview } from './format.ts';
import { exactOperand, isNumberLiteral } from './jsonNumbers.ts';

/*
 * The `numeric` operator: `["=", 5]`, `["<", 10]`, or a range `[">", 0, "<=", 5]`: a lower
 * bound, then an upper one (EventBridge refuses the other order). Operands are numbers a
 * double holds exactly. Parsed once into an interval.
 */

const LOWER = new Set(['>', '>=']);
const UPPER = new Set(['<', '<=']);
const COMPARATORS = ['=', '<', '<=', '>', '>='];

interface Comparison {
  comparator: string;
  operand: number;
}

/** The numbers a numeric operator accepts: an interval, each end open or closed. */
export interface NumericBounds {
  low: number;
  lowOpen: boolean;
  high: number;
  highOpen: boolean;
}

/** Validates a numeric operand list and returns the interval it accepts. */
export function compileNumericRange(argument: unknown, path: string): NumericBounds {
  const comparisons = parseComparisons(argument, path);
  const [first, second] = comparisons;
  if (first === undefined) throw invalid('numeric expects at least one comparison', argument, path);
  if (second === undefined) return bounds(first);
  if (first.comparator === '=' || second.comparator === '=') throw invalid('"=" cannot be combined with another comparison', argument, path);
  const [lower, upper] = [first, second];
  if (!LOWER.has(lower.comparator) || !UPPER.has(upper.comparator)) {
    throw invalid('a range needs a lower bound (">" or ">=") followed by an upper bound ("<" or "<=")', argument, path);
  }
  if (!(lower.operand < upper.operand)) {
    throw invalid(`bad range: the lower bound ${lower.operand} must be below the upper bound ${upper.operand}`, argument, path);
  }
  return { ...bounds(lower), high: upper.operand, highOpen: upper.comparator === '<' };
}

function parseComparisons(argument: unknown, path: string): Comparison[] {
  if (!Array.isArray(argument) || (argument.length !== 2 && argument.length !== 4)) {
    throw invalid('numeric expects [comparator, number] or [comparator, number, comparator, number]', argument, path);
  }
  const out: Comparison[] = [];
  for (let i = 0; i < argument.length; i += 2) {
    const comparator: unknown = argument[i];
    const operand: unknown = argument[i + 1];
    if (typeof comparator !== 'string' || !COMPARATORS.includes(comparator)) {
      throw invalid(`unknown comparator ${preview(comparator)}; expected one of ${COMPARATORS.map((c) => `"${c}"`).join(', ')}`, argument, path);
    }
    if (typeof operand !== 'number' && !isNumberLiteral(operand)) {
      throw invalid(`the operand of "${comparator}" must be a number, got ${describeValue(operand)}`, argument, path);
    }
    out.push({ comparator, operand: exactOperand(operand, path, `numeric "${comparator}"`) });
  }
  return out;
}

function bounds({ comparator, operand }: Comparison): NumericBounds {
  const open = { low: -Infinity, lowOpen: false, high: Infinity, highOpen: false };
  switch (comparator) {
    case '=':
      return { ...open, low: operand, high: operand };
    case '<':
    case '<=':
      return { ...open, high: operand, highOpen: comparator === '<' };
    default:
      return { ...open, low: operand, lowOpen: comparator === '>' };
  }
}

function invalid(problem: string, argument: unknown, path: string): InvalidPatternError {
  return new InvalidPatternError(`${problem} (in ${preview(argument)})`, path);
}
