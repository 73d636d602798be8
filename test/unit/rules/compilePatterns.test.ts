import { describe, expect, it } from 'vitest';
import { eventBridgeToEnvelope, toEventBridgeEvent } from '../../../shared/core/eventbridge.ts';
import { InvalidEventError, InvalidPatternError } from '../../../shared/core/errors.ts';
import type { RouteMatcher } from '../../../shared/core/ports/RouteMatcher.ts';
import { compilePatterns, compilePatternsOnFirstMatch } from '../../../shared/rules/index.ts';

const orderPlaced = {
  version: '0',
  id: 'e-1',
  'detail-type': 'OrderPlaced',
  source: 'shop.orders',
  account: '123456789012',
  time: '2025-01-02T03:04:05Z',
  region: 'eu-central-1',
  resources: ['arn:aws:dynamodb:eu-central-1:123456789012:table/orders'],
  detail: { amount: 1250, currency: 'EUR', customer: { tier: 'Gold' } },
};

describe('compilePatterns', () => {
  it('returns the names of every matching pattern, in insertion order', () => {
    const matcher = compilePatterns({
      'zz-all-orders': { source: ['shop.orders'] },
      'big-orders': { detail: { amount: [{ numeric: ['>=', 1000] }] } },
      refunds: { 'detail-type': ['RefundIssued'] },
      'aa-gold': { detail: { customer: { tier: [{ 'equals-ignore-case': 'gold' }] } } },
    });

    expect(matcher.matches(orderPlaced)).toEqual(['zz-all-orders', 'big-orders', 'aa-gold']);
  });

  it('returns an empty list when nothing matches', () => {
    const matcher = compilePatterns({ refunds: { 'detail-type': ['RefundIssued'] } });

    expect(matcher.matches(orderPlaced)).toEqual([]);
  });

  it('satisfies the RouteMatcher port and matches the EventBridge view of an envelope', () => {
    const matcher: RouteMatcher = compilePatterns({
      'eu-resources': { region: [{ prefix: 'eu-' }], resources: [{ suffix: 'table/orders' }] },
    });
    const view = toEventBridgeEvent(eventBridgeToEnvelope(orderPlaced));

    expect(matcher.matches(view)).toEqual(['eu-resources']);
  });

  it('can be reused across events without state leaking between them', () => {
    const matcher = compilePatterns({ state: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } } });

    expect(matcher.matches({ detail: { state: 'initializing' } })).toEqual([]);
    expect(matcher.matches({ detail: { state: 'running' } })).toEqual(['state']);
    expect(matcher.matches({ detail: { state: 'INIT' } })).toEqual(['state']);
    expect(matcher.matches({ detail: { state: 'init-2' } })).toEqual([]);
  });

  it('treats an event that is not an object as having no fields', () => {
    const matcher = compilePatterns({ present: { source: ['shop'] }, absent: { source: [{ exists: false }] } });

    expect(matcher.matches(42)).toEqual(['absent']);
    expect(matcher.matches(null)).toEqual(['absent']);
  });

  it('accepts the event as JSON text and parses it', () => {
    const matcher = compilePatterns({ shop: { source: ['shop'] }, big: { detail: { amount: [{ numeric: ['>', 100] }] } } });

    expect(matcher.matches('{"source": "shop", "detail": {"amount": 250}}')).toEqual(['shop', 'big']);
    expect(matcher.matches('"shop"')).toEqual([]);
  });

  it('rejects event text that is not JSON with InvalidEventError', () => {
    const matcher = compilePatterns({ shop: { source: ['shop'] } });

    expect(() => matcher.matches('{"source": ')).toThrow(InvalidEventError);
  });

  it('names the pattern in front of the path of an invalid pattern', () => {
    const act = () =>
      compilePatterns({
        fine: { source: ['shop'] },
        'big-orders': { detail: { amount: [{ numeric: ['>', 10, '<', 5] }] } },
      });

    expect(act).toThrow(InvalidPatternError);
    expect(act).toThrow(/^big-orders\.detail\.amount\[0\]\.numeric: bad range/);
  });

  it('names the pattern alone when the pattern itself is not an object', () => {
    let error: unknown;
    try {
      compilePatterns({ broken: 'source = shop' });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(InvalidPatternError);
    expect((error as InvalidPatternError).path).toBe('broken');
    expect((error as Error).message).toBe('broken: an event pattern must be a JSON object, got string "source = shop"');
  });

  it('does not depend on the pattern objects after compiling', () => {
    const pattern = { source: ['shop.orders'] };
    const matcher = compilePatterns({ orders: pattern });

    pattern.source[0] = 'something-else';

    expect(matcher.matches(orderPlaced)).toEqual(['orders']);
  });
});

describe('compilePatternsOnFirstMatch', () => {
  it('compiles nothing until the first event to match, then matches as compilePatterns does', () => {
    // An invalid pattern shows when compiling happens: not at creation, at the first match.
    const lazy = compilePatternsOnFirstMatch({ broken: 'source = shop' });

    expect(() => lazy.matches(orderPlaced)).toThrow(InvalidPatternError);

    const patterns = {
      'zz-all-orders': { source: ['shop.orders'] },
      refunds: { 'detail-type': ['RefundIssued'] },
      'aa-gold': { detail: { customer: { tier: [{ 'equals-ignore-case': 'gold' }] } } },
    };
    const matcher = compilePatternsOnFirstMatch(patterns);
    const refund = { ...orderPlaced, 'detail-type': 'RefundIssued', detail: {} };

    expect(matcher.matches(orderPlaced)).toEqual(['zz-all-orders', 'aa-gold']);
    expect(matcher.matches(refund)).toEqual(['zz-all-orders', 'refunds']);
    expect(matcher.matches(JSON.stringify(orderPlaced))).toEqual(compilePatterns(patterns).matches(orderPlaced));
  });

  it('compiles once: a pattern changed after the first match changes nothing', () => {
    const pattern = { source: ['shop.orders'] };
    const matcher = compilePatternsOnFirstMatch({ orders: pattern });

    expect(matcher.matches(orderPlaced)).toEqual(['orders']);
    pattern.source[0] = 'something-else';

    expect(matcher.matches(orderPlaced)).toEqual(['orders']);
  });
});
