import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { generateFromSchema, seededRng, type JsonSchema } from '../../../shared/models/index.ts';

// ajv-formats is CommonJS; under ESM its default export may arrive wrapped once more.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ strict: false, allErrors: true, allowUnionTypes: true }));

function problems(schema: JsonSchema, value: unknown): string[] {
  const validate = ajv.compile(schema);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
}

const SCHEMAS: Record<string, JsonSchema> = {
  'flat object with required and optional fields': {
    type: 'object',
    additionalProperties: false,
    required: ['score', 'level'],
    properties: {
      score: { type: 'integer', minimum: 0, maximum: 100 },
      level: { type: 'string', enum: ['low', 'medium', 'high'] },
      note: { type: 'string', minLength: 5, maxLength: 12 },
      flagged: { type: 'boolean' },
    },
  },
  'nested objects and arrays of objects': {
    type: 'object',
    required: ['customer', 'lines'],
    properties: {
      customer: { type: 'object', required: ['id', 'email'], properties: { id: { type: 'string', format: 'uuid' }, email: { type: 'string', format: 'email' } } },
      lines: {
        type: 'array',
        minItems: 2,
        maxItems: 4,
        items: { type: 'object', required: ['sku', 'qty'], properties: { sku: { type: 'string', pattern: '^SKU-[0-9]{4}$' }, qty: { type: 'integer', minimum: 1 } } },
      },
    },
  },
  'formats': {
    type: 'object',
    required: ['at', 'on', 'link', 'mail', 'id'],
    properties: {
      at: { type: 'string', format: 'date-time' },
      on: { type: 'string', format: 'date' },
      link: { type: 'string', format: 'uri' },
      mail: { type: 'string', format: 'email' },
      id: { type: 'string', format: 'uuid' },
    },
  },
  'numbers with exclusive bounds and multipleOf': {
    type: 'object',
    required: ['ratio', 'price', 'even', 'draft4'],
    properties: {
      ratio: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
      price: { type: 'number', minimum: 0.5, maximum: 9.5, multipleOf: 0.05 },
      even: { type: 'integer', minimum: -10, maximum: 10, multipleOf: 2 },
      draft4: { type: 'integer', minimum: 3, maximum: 4, exclusiveMinimum: 3 },
    },
  },
  'patterns, with and without examples': {
    type: 'object',
    required: ['currency', 'invoice', 'tier'],
    properties: {
      currency: { type: 'string', pattern: '^[A-Z]{3}$', examples: ['EUR', 'USD'] },
      invoice: { type: 'string', pattern: '^INV-\\d{4,6}(-[a-z]{2})?$' },
      tier: { type: 'string', pattern: '^(gold|silver)$', maxLength: 6 },
    },
  },
  'nullable types, const, anyOf and oneOf': {
    type: 'object',
    required: ['maybe', 'version', 'either', 'one'],
    properties: {
      maybe: { type: ['string', 'null'], minLength: 2 },
      version: { const: 'v1' },
      either: { anyOf: [{ type: 'integer', minimum: 10, maximum: 20 }, { type: 'string', enum: ['n/a'] }] },
      one: { oneOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'number' }, maxItems: 2 }] },
    },
  },
  'arrays: unique enum items, tuples, empty allowed': {
    type: 'object',
    required: ['tags', 'pair', 'none'],
    properties: {
      tags: { type: 'array', uniqueItems: true, minItems: 2, maxItems: 3, items: { enum: ['a', 'b', 'c'] } },
      pair: { type: 'array', items: [{ type: 'string' }, { type: 'integer' }], minItems: 2, maxItems: 2 },
      none: { type: 'array', maxItems: 0 },
    },
  },
  'local $ref and allOf': {
    type: 'object',
    definitions: { money: { type: 'object', required: ['amount'], properties: { amount: { type: 'number', minimum: 0 } } } },
    required: ['total'],
    properties: { total: { allOf: [{ $ref: '#/definitions/money' }, { required: ['currency'], properties: { currency: { enum: ['EUR'] } } }] } },
  },
};

describe('generateFromSchema', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`answers valid JSON for ${name}, across 200 seeds`, () => {
      const failures = Array.from({ length: 200 }, (_, i) => generateFromSchema(schema, seededRng(`seed-${i}`)))
        .map((value) => ({ value, problems: problems(schema, value) }))
        .filter((r) => r.problems.length > 0);
      expect(failures.slice(0, 3)).toEqual([]);
    });
  }

  for (const file of ['order-risk', 'ticket-triage', 'invoice-extract']) {
    it(`answers valid JSON for the sample route schema ${file}.output.json`, () => {
      const schema = JSON.parse(readFileSync(join(import.meta.dirname, '../../../events/schemas', `${file}.output.json`), 'utf8')) as JsonSchema;
      for (let i = 0; i < 100; i++) expect(problems(schema, generateFromSchema(schema, seededRng(i)))).toEqual([]);
    });
  }

  it('fills optional properties too, so answers look complete', () => {
    const out = generateFromSchema(SCHEMAS['flat object with required and optional fields']!, seededRng('x')) as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual(['flagged', 'level', 'note', 'score']);
  });

  it('gives the same answer for the same rng state and a different one for another seed', () => {
    const schema = SCHEMAS['nested objects and arrays of objects']!;
    expect(generateFromSchema(schema, seededRng('a'))).toEqual(generateFromSchema(schema, seededRng('a')));
    expect(generateFromSchema(schema, seededRng('a'))).not.toEqual(generateFromSchema(schema, seededRng('b')));
  });

  it('sometimes answers null for a nullable type, but mostly a value', () => {
    const values = Array.from({ length: 200 }, (_, i) => generateFromSchema({ type: ['integer', 'null'] }, seededRng(i)));
    const nulls = values.filter((v) => v === null).length;
    expect(nulls).toBeGreaterThan(0);
    expect(nulls).toBeLessThan(100);
  });

  it('quotes words of the prompt in a summary when given the prompt', () => {
    const schema = { type: 'object', required: ['summary'], properties: { summary: { type: 'string', maxLength: 200 } } };
    const prompt = 'Customer Greta writes that the parcel arrived crushed and the blender inside is broken';
    const { summary } = generateFromSchema(schema, seededRng('q'), { prompt }) as { summary: string };
    const words = summary.toLowerCase().split(' ');
    expect(words.length).toBeGreaterThanOrEqual(4);
    expect(prompt.toLowerCase()).toContain(words.join(' '));
  });

  it('fills plain strings by what their names suggest: a company for vendor, a code for invoiceNumber', () => {
    const schema = { type: 'object', required: ['vendor', 'invoiceNumber'], properties: { vendor: { type: 'string' }, invoiceNumber: { type: 'string' } } };
    const out = generateFromSchema(schema, seededRng('n')) as { vendor: string; invoiceNumber: string };
    expect(out.vendor).toMatch(/ (GmbH|Traders|Ltd|SA|Inc|BV|AG)$/);
    expect(out.invoiceNumber).toMatch(/^INV-\d{4,5}$/);
  });

  it('returns copies of enum and const values, not the schema objects themselves', () => {
    const schema = { type: 'object', required: ['c'], properties: { c: { const: { k: 1 } } } };
    const out = generateFromSchema(schema, seededRng('c')) as { c: { k: number } };
    out.c.k = 2;
    expect(schema.properties.c.const.k).toBe(1);
  });
});
