import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { malformedFromSchema, seededRng, type JsonSchema, type Malformation } from '../../../shared/models/index.ts';

const ajv = new Ajv({ strict: false, allowUnionTypes: true });

const SCHEMAS: Record<string, JsonSchema> = {
  'object with required fields': { type: 'object', required: ['score'], properties: { score: { type: 'integer' } } },
  'object with no required fields': { type: 'object', properties: { note: { type: 'string' } } },
  'object inferred from properties': { required: ['a'], properties: { a: { type: 'string' } } },
  'nullable array': { type: ['array', 'null'], items: { type: 'string' } },
  'union of objects and strings': { anyOf: [{ type: 'object' }, { type: 'string' }] },
};

describe('malformedFromSchema', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    for (const kind of ['missing-required', 'wrong-type'] as Malformation[]) {
      it(`answers output the schema rejects: ${name}, ${kind}`, () => {
        const value = malformedFromSchema(schema, seededRng(name), kind);
        expect(ajv.validate(schema, value)).toBe(false);
      });
    }
  }

  it('drops the required fields for missing-required, keeping an object', () => {
    const value = malformedFromSchema(SCHEMAS['object with required fields']!, seededRng('m'), 'missing-required');
    expect(value).toEqual({});
  });
});
