import { describe, expect, it } from 'vitest';
import { headerGetter, parseJsonAnswer, redact, retryAfterMs } from '../../../shared/models/index.ts';
import { strictCompatible } from '../../../shared/models/openai/index.ts';

describe('parseJsonAnswer', () => {
  it('reads JSON, also inside a Markdown code fence', () => {
    expect(parseJsonAnswer(' {"a": 1} ', false, 10)).toEqual({ output: { a: 1 } });
    expect(parseJsonAnswer('```json\n{"a": 1}\n```', false, 10)).toEqual({ output: { a: 1 } });
  });

  it('says why an answer is unreadable: empty, not JSON, or cut off at the token limit', () => {
    expect(parseJsonAnswer('', false, 10).unreadable).toBe('the answer was empty');
    expect(parseJsonAnswer('score: 4', false, 10).unreadable).toMatch(/^the answer is not JSON \(/);
    expect(parseJsonAnswer('{"a": 1}', true, 10).unreadable).toBe('the answer was cut off at maxTokens (10) before it was complete');
  });
});

describe('strictCompatible', () => {
  it('is true only when every object closes additionalProperties and requires all its properties', () => {
    const closed = { type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'string' } }, required: ['b'], additionalProperties: false } }, required: ['a'], additionalProperties: false };
    expect(strictCompatible(closed)).toBe(true);
    expect(strictCompatible({ ...closed, required: [] })).toBe(false);
    expect(strictCompatible({ ...closed, properties: { a: { type: 'object', properties: { b: { type: 'string' } }, required: ['b'] } } })).toBe(false);
  });
});

describe('retryAfterMs', () => {
  it('prefers retry-after-ms, reads Retry-After as seconds or an HTTP date, and ignores garbage', () => {
    const now = () => Date.parse('2026-11-22T08:00:00Z');
    expect(retryAfterMs(headerGetter({ 'Retry-After-Ms': '120.5', 'retry-after': '9' }), now)).toBe(121);
    expect(retryAfterMs(headerGetter({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterMs(headerGetter({ 'retry-after': 'Sun, 22 Nov 2026 08:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(headerGetter({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(headerGetter(undefined), now)).toBeUndefined();
  });
});

describe('redact', () => {
  it('removes the given secrets and anything shaped like a key, bearer token, AWS key id or signature', () => {
    const text = 'key my-own-secret-value; Bearer abc.def.ghi-jkl; sk-proj-0123456789; AKIAABCDEFGHIJKLMNOP; Signature=0123456789abcdef0123';
    expect(redact(text, ['my-own-secret-value'])).toBe('key ***; Bearer ***; ***; ***; Signature=***');
  });
});
