/*
 * Make up an answer that fits a route's output schema, the way a well-behaved model would.
 * Covers the JSON Schema subset route schemas use: type (one or a list, incl. "null"),
 * properties/required, items (incl. tuples), min/maxItems, uniqueItems (best effort),
 * enum, const, anyOf/oneOf/allOf, local $ref, string lengths, formats and simple patterns,
 * number bounds (inclusive and exclusive, draft-04 and draft-07 styles) and multipleOf.
 *
 * Limits, on purpose: `oneOf` picks one branch without checking the value fails the others;
 * `pattern` uses `examples`/`enum` when given, else a small regex subset (see
 * patternString), else filler text that will probably fail the schema; `not`, `if/then`,
 * `patternProperties`, `dependencies` and `contains` are ignored.
 */
import type { Rng } from './rng.ts';
import { fillerString, fitLength, formattedString, patternString, quotePrompt } from './strings.ts';

export type JsonSchema = Record<string, unknown>;

export interface GenerateHints {
  /** The rendered prompt; `summary`, `reason(s)` and `rationale` strings quote a few words of it. */
  prompt?: string;
}

/** Below this depth a recursive ($ref) schema stops adding optional properties and items. */
const MAX_DEPTH = 6;
const QUOTING_NAMES = /^(summary|reasons?|rationale)$/i;

interface Context {
  root: JsonSchema;
  rng: Rng;
  hints: GenerateHints;
  depth: number;
  /** Name of the property (or array property) being filled, for content hints. */
  name?: string;
}

/**
 * A value valid against `schema`, drawn from `rng`: the same rng state gives the same value.
 *
 * @example
 * generateFromSchema({ type: 'object', required: ['score'], properties: { score: { type: 'integer', minimum: 0, maximum: 100 } } }, seededRng('42'))
 * // → { score: 17 }
 */
export function generateFromSchema(schema: unknown, rng: Rng, hints: GenerateHints = {}): unknown {
  const root = isSchema(schema) ? schema : {};
  return generate(root, { root, rng, hints, depth: 0 });
}

function generate(schema: unknown, ctx: Context): unknown {
  if (schema === false) return null; // nothing is valid; null is the least surprising wrong answer
  if (!isSchema(schema)) return fillerString(ctx.rng, 1, 20);
  const s = resolve(schema, ctx);
  // Copies, so a caller that edits the answer cannot edit the route's schema.
  if ('const' in s) return structuredClone(s.const);
  if (Array.isArray(s.enum) && s.enum.length > 0) return structuredClone(ctx.rng.pick(s.enum));
  const branches = (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined) as unknown[] | undefined;
  if (branches && branches.length > 0) {
    const { anyOf: _a, oneOf: _o, ...rest } = s;
    const branch = ctx.rng.pick(branches);
    return generate(isSchema(branch) ? mergeSchemas(rest, resolve(branch, ctx)) : branch, ctx);
  }
  switch (pickType(s, ctx.rng)) {
    case 'null':
      return null;
    case 'boolean':
      return ctx.rng.chance(0.5);
    case 'integer':
      return generateNumber(s, ctx.rng, true);
    case 'number':
      return generateNumber(s, ctx.rng, false);
    case 'array':
      return generateArray(s, ctx);
    case 'object':
      return generateObject(s, ctx);
    default:
      return generateString(s, ctx);
  }
}

/** Follows a local `$ref` and folds `allOf` into one schema. */
function resolve(schema: JsonSchema, ctx: Context): JsonSchema {
  let s = schema;
  for (let hops = 0; typeof s.$ref === 'string' && hops < 16; hops++) {
    const { $ref, ...rest } = s;
    const target = lookupPointer(ctx.root, $ref as string);
    s = isSchema(target) ? mergeSchemas(rest, target) : rest;
  }
  if (Array.isArray(s.allOf)) {
    const { allOf, ...rest } = s;
    s = (allOf as unknown[]).filter(isSchema).reduce<JsonSchema>((acc, part) => mergeSchemas(acc, resolve(part, ctx)), rest);
  }
  return s;
}

function lookupPointer(root: JsonSchema, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const parts = ref.slice(1).split('/').filter(Boolean).map((p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.reduce<unknown>((node, key) => (isSchema(node) ? node[key] : undefined), root);
}

/** Shallow merge that keeps both sides' properties and required lists. */
function mergeSchemas(a: JsonSchema, b: JsonSchema): JsonSchema {
  const merged: JsonSchema = { ...a, ...b };
  if (isSchema(a.properties) || isSchema(b.properties)) merged.properties = { ...(a.properties as object), ...(b.properties as object) };
  if (Array.isArray(a.required) || Array.isArray(b.required)) {
    merged.required = [...new Set([...((a.required as unknown[]) ?? []), ...((b.required as unknown[]) ?? [])])];
  }
  return merged;
}

function pickType(s: JsonSchema, rng: Rng): string {
  if (typeof s.type === 'string') return s.type;
  if (Array.isArray(s.type) && s.type.length > 0) {
    const concrete = s.type.filter((t) => t !== 'null');
    // Mostly a real value, so demos show content; sometimes null, so consumers see both.
    if (concrete.length === 0 || (concrete.length < s.type.length && rng.chance(0.2))) return 'null';
    return String(rng.pick(concrete));
  }
  if ('properties' in s || 'required' in s) return 'object';
  if ('items' in s || 'prefixItems' in s || 'minItems' in s || 'maxItems' in s) return 'array';
  if ('minimum' in s || 'maximum' in s || 'exclusiveMinimum' in s || 'exclusiveMaximum' in s || 'multipleOf' in s) return 'number';
  return 'string';
}

function generateObject(s: JsonSchema, ctx: Context): Record<string, unknown> {
  const properties = isSchema(s.properties) ? s.properties : {};
  const required = new Set(Array.isArray(s.required) ? s.required.map(String) : []);
  const out: Record<string, unknown> = {};
  for (const [name, sub] of Object.entries(properties)) {
    if (ctx.depth >= MAX_DEPTH && !required.has(name)) continue;
    out[name] = generate(sub, { ...ctx, depth: ctx.depth + 1, name });
  }
  // A required name with no declared schema still has to be present.
  for (const name of required) if (!(name in out)) out[name] = fillerString(ctx.rng, 1, 20);
  return out;
}

function generateArray(s: JsonSchema, ctx: Context): unknown[] {
  const tuple = (Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : []) as unknown[];
  const rest = Array.isArray(s.items) ? s.additionalItems : s.items;
  const min = num(s.minItems) ?? 0;
  const max = num(s.maxItems) ?? Math.max(min, tuple.length, 3);
  const wanted = ctx.depth >= MAX_DEPTH ? min : ctx.rng.int(Math.max(min, Math.min(1, max), Math.min(tuple.length, max)), max);
  const out: unknown[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < wanted; i++) {
    const itemSchema = i < tuple.length ? tuple[i] : rest === undefined ? {} : rest;
    const itemCtx = { ...ctx, depth: ctx.depth + 1 };
    let item = generate(itemSchema, itemCtx);
    // uniqueItems: redraw a few times; a small enum may run out, so stop once min is met.
    for (let tries = 0; s.uniqueItems === true && seen.has(JSON.stringify(item)) && tries < 10; tries++) item = generate(itemSchema, itemCtx);
    if (s.uniqueItems === true && seen.has(JSON.stringify(item))) {
      if (out.length >= min) break;
    }
    seen.add(JSON.stringify(item));
    out.push(item);
  }
  return out;
}

function generateString(s: JsonSchema, ctx: Context): string {
  const minLength = num(s.minLength) ?? 0;
  const maxLength = num(s.maxLength);
  if (typeof s.pattern === 'string') {
    const re = safeRegExp(s.pattern);
    const examples = (Array.isArray(s.examples) ? s.examples : []).filter((e): e is string => typeof e === 'string' && (re?.test(e) ?? true));
    if (examples.length > 0) return ctx.rng.pick(examples);
    const made = patternString(s.pattern, ctx.rng, minLength, maxLength);
    if (made !== undefined) return made;
  }
  if (typeof s.format === 'string') {
    const formatted = formattedString(s.format, ctx.rng);
    if (formatted !== undefined) return formatted;
  }
  if (ctx.hints.prompt && ctx.name && QUOTING_NAMES.test(ctx.name)) {
    const quoted = quotePrompt(ctx.hints.prompt, ctx.rng, minLength, maxLength);
    if (quoted !== undefined) return quoted;
  }
  const examples = (Array.isArray(s.examples) ? s.examples : []).filter((e): e is string => typeof e === 'string');
  if (examples.length > 0 && ctx.rng.chance(0.5)) return fitLength(ctx.rng.pick(examples), minLength, maxLength);
  return fillerString(ctx.rng, minLength, maxLength, ctx.name);
}

function generateNumber(s: JsonSchema, rng: Rng, integer: boolean): number {
  // draft-04 writes `exclusiveMinimum: true` beside `minimum`; draft-06+ makes it the bound itself.
  const lowEx = typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : s.exclusiveMinimum === true ? num(s.minimum) : undefined;
  const highEx = typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum : s.exclusiveMaximum === true ? num(s.maximum) : undefined;
  let low = maxOf(lowEx, num(s.minimum));
  let high = minOf(highEx, num(s.maximum));
  if (low === undefined) low = high === undefined ? 0 : Math.min(0, high - 100);
  if (high === undefined) high = Math.max(low + 100, 100);
  // Work in steps: whole numbers, multiples, or hundredths — then the exclusive bounds are exact.
  const step = stepOf(num(s.multipleOf), integer);
  let first = Math.ceil(low / step - 1e-9);
  let last = Math.floor(high / step + 1e-9);
  if (lowEx !== undefined && first * step <= lowEx) first++;
  if (highEx !== undefined && last * step >= highEx) last--;
  if (last < first) return (low + high) / 2; // unsatisfiable bounds: any answer is wrong, keep it sane
  const drawn = rng.int(first, last);
  const decimals = (String(step).split('.')[1] ?? '').length;
  const at = (k: number) => Number((k * step).toFixed(decimals));
  const multipleOf = num(s.multipleOf);
  // Validators check multipleOf as `value / multipleOf` being whole, which binary floating
  // point breaks for some multiples (0.07 / 0.01); walk to the nearest multiple that passes.
  if (multipleOf !== undefined && !Number.isInteger(multipleOf)) {
    for (let d = 0; d <= 50; d++) {
      for (const k of [drawn + d, drawn - d]) {
        if (k >= first && k <= last && Number.isInteger(at(k) / multipleOf)) return at(k);
      }
    }
  }
  return at(drawn);
}

/** The unit to count in; for an integer with a fractional multipleOf, its smallest whole multiple. */
function stepOf(multipleOf: number | undefined, integer: boolean): number {
  if (multipleOf === undefined || multipleOf <= 0) return integer ? 1 : 0.01;
  if (!integer || Number.isInteger(multipleOf)) return multipleOf;
  for (let n = 2; n <= 1000; n++) {
    const whole = Math.round(n * multipleOf);
    if (Math.abs(whole - n * multipleOf) < 1e-9) return whole;
  }
  return 1;
}

function maxOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function minOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function safeRegExp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
