import { describe, expect, it } from 'vitest';
import { compileOutputSchema, didYouMean, looksLikeSecret } from '../../../shared/config/index.ts';

describe('didYouMean', () => {
  it('suggests the nearest known word for a near miss', () => {
    expect(didYouMean('maxToken', ['prompt', 'maxTokens', 'models'])).toBe('maxTokens');
    expect(didYouMean('clasification', ['classification', 'location'])).toBe('classification');
    expect(didYouMean('detailtype', ['detailType', 'source'])).toBe('detailType');
    expect(didYouMean('tiemoutMs', ['timeoutMs'])).toBe('timeoutMs');
  });

  it('suggests nothing when no word is close', () => {
    expect(didYouMean('banana', ['prompt', 'maxTokens'])).toBeUndefined();
    expect(didYouMean('x', [])).toBeUndefined();
  });
});

describe('looksLikeSecret', () => {
  it.each(['apiKey', 'api_key', 'API-KEY', 'secret', 'clientSecret', 'password', 'connectionString', 'accessKeyId', 'accessKey', 'token', 'sasToken'])(
    'flags %s',
    (key) => expect(looksLikeSecret(key)).toBe(true),
  );

  it.each(['maxTokens', 'model', 'endpoint', 'apiVersion', 'deployment', 'region', 'keyVaultUri'])('lets %s through', (key) =>
    expect(looksLikeSecret(key)).toBe(false),
  );
});

describe('compileOutputSchema', () => {
  it('returns a validator whose messages are "<path>: <problem>", empty when valid', () => {
    const out = compileOutputSchema({
      type: 'object',
      required: ['score', 'reasons'],
      properties: { score: { type: 'number', maximum: 100 }, reasons: { type: 'array', items: { type: 'string' } } },
    });
    if (!('validate' in out)) throw new Error(JSON.stringify(out.problems));

    expect(out.validate({ score: 12, reasons: [] })).toEqual([]);
    expect(out.validate({ score: 120, reasons: ['ok', 7] })).toEqual(['/score: must be <= 100', '/reasons/1: must be string']);
    expect(out.validate({})).toEqual(["/: must have required property 'score'", "/: must have required property 'reasons'"]);
  });

  it('allows annotations such as description and examples but rejects unknown keywords', () => {
    const annotated = compileOutputSchema({ type: 'object', description: 'd', examples: [{}], properties: { a: { type: 'string', examples: ['x'] } } });
    const typo = compileOutputSchema({ type: 'object', properties: { a: { type: 'string', maxLenght: 3 } } });

    expect('validate' in annotated).toBe(true);
    expect('problems' in typo && typo.problems.map((p) => p.path)).toEqual([['properties', 'a', 'maxLenght']]);
  });

  it('rejects a required property that the schema does not declare (strict mode)', () => {
    const out = compileOutputSchema({ type: 'object', required: ['scroe'], properties: { score: { type: 'number' } } });

    expect('problems' in out && out.problems[0]?.message).toMatch(/required property "scroe" is not defined/);
  });
});
