// The rules folder's public door: EventBridge event patterns, validated and matched.
export { validatePattern } from './validatePattern.ts';
export { matchesPattern } from './matchesPattern.ts';
export { explainMismatch } from './explainMismatch.ts';
export { testEventPattern } from './testEventPattern.ts';
export { compilePatterns, compilePatternsOnFirstMatch } from './compilePatterns.ts';
export { readJson } from './jsonNumbers.ts';
