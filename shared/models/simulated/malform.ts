/*
 * Wrong answers on purpose. A `malformed` fault must produce output that the pipeline's
 * schema check rejects — otherwise the chaos setting silently tests nothing. Two kinds,
 * chosen by the caller so a run sees both: required fields missing, and the wrong type.
 */
import { generateFromSchema, type GenerateHints, type JsonSchema } from './generate.ts';
import type { Rng } from './rng.ts';

export type Malformation = 'missing-required' | 'wrong-type';

/**
 * An answer NOT valid against `schema`. `missing-required` drops every required field of a
 * generated answer (when the schema is an object with required fields; otherwise it falls
 * back to `wrong-type`); `wrong-type` returns a value of a JSON type the schema does not allow.
 *
 * Limit: a schema that accepts any type and requires no field (`{}`, or `type` listing
 * every JSON type) has no sure wrong answer; the result is then a plain array or string,
 * which such a schema may accept.
 *
 * @example malformedFromSchema(routeSchema, seededRng('42'), 'wrong-type') // e.g. ["simulated", "malformed"]
 */
export function malformedFromSchema(schema: JsonSchema, rng: Rng, kind: Malformation, hints: GenerateHints = {}): unknown {
  const required = Array.isArray(schema.required) ? schema.required.map(String) : [];
  const allowed = allowedTypes(schema);
  // Without a `type`, a value of another type passes `required` and `properties`: only a
  // missing field is sure to fail, so that is the answer whatever kind was asked for.
  const wrongTypeFails = allowed !== undefined && SAMPLES.some(([type]) => !allowed.has(type));
  if ((kind === 'missing-required' || !wrongTypeFails) && required.length > 0 && (allowed === undefined || allowed.has('object'))) {
    const valid = generateFromSchema(schema, rng, hints);
    if (typeof valid === 'object' && valid !== null && !Array.isArray(valid)) {
      const partial: Record<string, unknown> = { ...valid };
      for (const name of required) delete partial[name];
      return partial;
    }
  }
  return wrongType(allowed);
}

const SAMPLES: Array<[string, unknown]> = [
  ['array', ['simulated', 'malformed']],
  ['string', 'simulated malformed answer'],
  ['number', 0.5],
  ['boolean', false],
  ['null', null],
  ['object', { simulated: 'malformed' }],
];

function wrongType(allowed: Set<string> | undefined): unknown {
  const types = allowed ?? new Set(['object']);
  for (const [type, value] of SAMPLES) {
    if (types.has(type)) continue;
    return value;
  }
  return 'simulated malformed answer';
}

/** The JSON types a schema's top level accepts, or undefined when it does not say. */
function allowedTypes(schema: JsonSchema): Set<string> | undefined {
  if (typeof schema.type === 'string') return new Set([schema.type]);
  if (Array.isArray(schema.type)) return new Set(schema.type.map(String));
  const branches = [schema.anyOf, schema.oneOf].find(Array.isArray) as unknown[] | undefined;
  if (branches) {
    const union = new Set<string>();
    for (const b of branches) {
      const t = typeof b === 'object' && b !== null ? allowedTypes(b as JsonSchema) : undefined;
      if (t === undefined) return undefined;
      t.forEach((x) => union.add(x));
    }
    return union;
  }
  return undefined;
}
