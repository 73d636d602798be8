import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/*
 * A validator for an output schema when the caller gave none (a provider adapter used on its
 * own). Apart from structured.ts so that ajv is not loaded where every route brings its own
 * validator (the Lambda's cold start reads the package-time validators instead).
 */

// ajv-formats is CommonJS; under ESM its default export may arrive wrapped once more.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
const compiled = new WeakMap<object, (v: unknown) => string[]>();

/** A validator for a schema when the caller gave none (the adapter used on its own); compiled once per schema object. */
export function validatorFor(schema: Record<string, unknown>): (v: unknown) => string[] {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    addFormats(ajv);
    const fn: ValidateFunction = ajv.compile(schema);
    validate = (v) => (fn(v) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'is invalid'}`));
    compiled.set(schema, validate);
  }
  return validate;
}
