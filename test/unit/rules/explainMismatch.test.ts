import { describe, expect, it } from 'vitest';
import { explainMismatch, matchesPattern } from '../../../shared/rules/index.ts';

describe('explainMismatch', () => {
  it('returns undefined when the event matches', () => {
    const pattern = { source: ['shop'], detail: { amount: [{ numeric: ['>', 100] }] } };

    expect(explainMismatch(pattern, { source: 'shop', detail: { amount: 250 } })).toBeUndefined();
  });

  it('names the field and the operator a value fails', () => {
    const pattern = { detail: { amount: [{ numeric: ['>', 100] }] } };

    expect(explainMismatch(pattern, { detail: { amount: 42 } })).toBe('detail.amount: 42 does not satisfy numeric [">", 100]');
  });

  it('says a field is missing rather than comparing undefined', () => {
    expect(explainMismatch({ source: ['shop'] }, { detail: {} })).toBe('source: field is missing');
  });

  it('reports a missing nested field by its full path', () => {
    expect(explainMismatch({ detail: { order: { id: ['o-1'] } } }, { source: 'shop' })).toBe('detail.order.id: field is missing');
  });

  it('lists the accepted values when several are allowed', () => {
    expect(explainMismatch({ 'detail-type': ['OrderPlaced', { prefix: 'Refund' }] }, { 'detail-type': 'OrderPaid' })).toBe(
      'detail-type: "OrderPaid" does not match ["OrderPlaced", {"prefix": "Refund"}]',
    );
  });

  it('shows a type mismatch by quoting strings and not numbers', () => {
    expect(explainMismatch({ detail: { count: [5] } }, { detail: { count: '5' } })).toBe('detail.count: "5" does not match [5]');
  });

  it('reports the first failing field in pattern order', () => {
    const pattern = { source: ['shop'], 'detail-type': ['OrderPlaced'], region: ['eu-west-1'] };

    expect(explainMismatch(pattern, { source: 'shop', 'detail-type': 'OrderPaid', region: 'us-east-1' })).toBe(
      'detail-type: "OrderPaid" does not match ["OrderPlaced"]',
    );
  });

  it('says no element of an event array matched', () => {
    expect(explainMismatch({ resources: [{ prefix: 'arn:aws:s3' }] }, { resources: ['arn:aws:ec2:1', 'arn:aws:sqs:2'] })).toBe(
      'resources: no element of ["arn:aws:ec2:1", "arn:aws:sqs:2"] satisfies prefix "arn:aws:s3"',
    );
  });

  it('explains that an object is not a leaf value', () => {
    expect(explainMismatch({ detail: { state: [{ exists: true }] } }, { detail: { state: { name: 'x' } } })).toBe(
      'detail.state: field is an object, not a value',
    );
  });

  it('explains a present field that the pattern requires to be absent', () => {
    expect(explainMismatch({ detail: { error: [{ exists: false }] } }, { detail: { error: 'boom' } })).toBe(
      'detail.error: field is present ("boom") but the pattern requires it to be absent',
    );
  });

  it('gives the reason of every $or alternative', () => {
    const pattern = { detail: { $or: [{ a: [1] }, { b: [2] }] } };

    expect(explainMismatch(pattern, { detail: { b: 3 } })).toBe(
      'detail.$or: no alternative matches ([0] detail.a: field is missing; [1] detail.b: 3 does not match [2])',
    );
  });

  it('cuts long event values so the reason stays one readable line', () => {
    const reason = explainMismatch({ detail: { note: ['short'] } }, { detail: { note: 'x'.repeat(5000) } });

    expect(reason).toMatch(/^detail\.note: "x+… does not match \["short"\]$/);
    expect(reason!.length).toBeLessThan(150);
    expect(reason).not.toContain('\n');
  });

  it('agrees with matchesPattern on a mismatch deep in an array of objects', () => {
    const pattern = { detail: { items: { sku: ['C'] } } };
    const event = { detail: { items: [{ sku: 'A' }, { sku: 'B' }] } };

    expect(matchesPattern(pattern, event)).toBe(false);
    expect(explainMismatch(pattern, event)).toBe(
      'detail.items: none of the 2 objects in the array matches; the first fails with detail.items.sku: "A" does not match ["C"]',
    );
  });
});
