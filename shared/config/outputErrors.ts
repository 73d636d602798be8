import type { ErrorObject } from 'ajv';

/*
 * How an ajv error reads in a dead-letter record or `mesh validate`. Kept apart from
 * outputSchema.ts (which loads ajv) so that validators generated at package time
 * (snapshot/) report their errors in the same words without loading ajv at a cold start.
 */

/**
 * `"/score: must be <= 100"` — where in the answer, then what is wrong.
 *
 * @example
 * formatOutputError({ instancePath: '/score', keyword: 'maximum', message: 'must be <= 100', params: { limit: 100 }, schemaPath: '#/properties/score/maximum' })
 * // → '/score: must be <= 100'
 */
export function formatOutputError(err: ErrorObject): string {
  return `${err.instancePath || '/'}: ${describeOutputError(err)}`;
}

/** The message of one ajv error, with the offending property or the allowed values spelled out. */
export function describeOutputError(err: ErrorObject): string {
  const params = err.params as Record<string, unknown>;
  if (err.keyword === 'additionalProperties') return `${err.message ?? 'must NOT have additional properties'} (${JSON.stringify(params.additionalProperty)})`;
  if (err.keyword === 'enum' && Array.isArray(params.allowedValues)) return `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(' | ')}`;
  return err.message ?? err.keyword;
}
