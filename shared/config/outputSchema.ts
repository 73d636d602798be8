import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { PathSegment } from './describe.ts';
import { describeOutputError as describeError, formatOutputError } from './outputErrors.ts';

export { formatOutputError };

/*
 * Route output schemas are JSON Schema (draft-07) compiled with ajv in strict mode: an
 * unknown keyword (`maxLenght`) or a `required` property that is not declared is a load
 * error, not a schema that silently accepts anything. Annotation keywords such as
 * `description` and `examples` are allowed; `format` (date, email, uri) comes from ajv-formats.
 */

// ajv-formats is CommonJS; under ESM its default export may arrive wrapped once more.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

/**
 * The ajv every route output schema is compiled with. The snapshot writer compiles with the
 * same one (plus `code` options for standalone output), so a validator generated at package
 * time behaves exactly like one compiled at start.
 */
export function newOutputAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true, validateSchema: true, ...options });
  addFormats(ajv);
  return ajv;
}

const shared = newOutputAjv();

export interface SchemaProblem {
  /** Path inside the schema, e.g. ['properties', 'score', 'maximum']. */
  path: PathSegment[];
  message: string;
}

export type CompiledOutput = { validate: (value: unknown) => string[] } | { problems: SchemaProblem[] };

/**
 * Compile a route's output schema. Returns the validator, or the problems with the schema
 * itself (each at its path inside the schema).
 *
 * @example
 * const out = compileOutputSchema({ type: 'object', properties: { score: { type: 'number', maximum: 100 } } });
 * if ('validate' in out) out.validate({ score: 120 }) // → ['/score: must be <= 100']
 */
export function compileOutputSchema(schema: Record<string, unknown>): CompiledOutput {
  if (schema.type !== 'object') {
    return { problems: [{ path: ['type'], message: `expected "object" (a model answer is a JSON object), got ${JSON.stringify(schema.type) ?? 'nothing'}` }] };
  }
  if (!shared.validateSchema(schema)) {
    const problems: SchemaProblem[] = [];
    // The meta-schema reports one mistake several times (enum, type, anyOf); the first says it best.
    const seen = new Set<string>();
    for (const err of shared.errors ?? []) {
      if (seen.has(err.instancePath)) continue;
      seen.add(err.instancePath);
      problems.push({ path: pointerToPath(err.instancePath), message: `not a valid JSON Schema: ${describeError(err)}` });
    }
    return { problems };
  }
  let validator: ValidateFunction;
  try {
    // A fresh instance per schema: ids (`$id`) in two route schemas must not collide. The schema
    // was just checked against the meta-schema by `shared`; checking again would compile the
    // meta-schema once more in every fresh instance (most of a cold start's schema time).
    validator = newOutputAjv({ validateSchema: false }).compile(schema);
  } catch (err) {
    const message = (err as Error).message;
    const keyword = /unknown keyword: "([^"]+)"/.exec(message)?.[1];
    return { problems: [{ path: keyword === undefined ? [] : (findKey(schema, keyword) ?? []), message: `not a usable JSON Schema: ${message}` }] };
  }
  return { validate: (value: unknown) => (validator(value) ? [] : (validator.errors ?? []).map(formatOutputError)) };
}

function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Where a key first occurs in a schema, so a strict-mode complaint can point at its line. */
function findKey(node: unknown, key: string, path: PathSegment[] = []): PathSegment[] | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  for (const [k, v] of Object.entries(node)) {
    const at = [...path, Array.isArray(node) ? Number(k) : k];
    if (k === key && !Array.isArray(node)) return at;
    const inner = findKey(v, key, at);
    if (inner) return inner;
  }
  return undefined;
}
