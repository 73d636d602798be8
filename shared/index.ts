// The package's main entry: what other code (and `aws events test-event-pattern` users) import.
export { compilePatterns, testEventPattern } from './rules/index.ts';
export { InvalidEventError, InvalidPatternError } from './core/errors.ts';
