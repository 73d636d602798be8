import { compilePattern } from './compilePattern.ts';

/**
 * Checks that `pattern` is a valid EventBridge event pattern (within the operators the mesh
 * supports) and throws `InvalidPatternError` naming the path of the first problem.
 *
 * @example
 * validatePattern({ source: ['shop.orders'], detail: { amount: [{ numeric: ['>', 100] }] } }); // ok
 * validatePattern({ detail: { amount: 5 } });
 * // throws: detail.amount: a pattern leaf must be an array of values or operators, got number 5
 */
export function validatePattern(pattern: unknown): void {
  compilePattern(pattern);
}
