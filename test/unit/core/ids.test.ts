import { describe, expect, it } from 'vitest';
import { resultId } from '../../../shared/core/index.ts';

describe('resultId', () => {
  it('is the same for the same route and input event, so a retry yields the same id', () => {
    expect(resultId('order-risk', 'e-1')).toBe(resultId('order-risk', 'e-1'));
  });

  it('differs by route and by event', () => {
    const ids = new Set([resultId('order-risk', 'e-1'), resultId('order-risk', 'e-2'), resultId('ticket-triage', 'e-1')]);
    expect(ids.size).toBe(3);
  });

  it('cannot be confused by moving characters between route id and event id', () => {
    expect(resultId('a-b', 'c')).not.toBe(resultId('a', 'b-c'));
    expect(resultId('a:b', 'c')).not.toBe(resultId('a', 'b:c'));
  });

  it('is UUID-shaped with the RFC 9562 variant bits', () => {
    expect(resultId('r', 'e')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
