import { describe, expect, it } from 'vitest';
import { spacingFor } from '../../../functions/azure/redeliverySpacing.ts';
import { ModelThrottledError, ModelUnavailableError, PublishFailedError, type PlacementDecision } from '../../../shared/core/index.ts';

const NOW = Date.parse('2026-03-02T09:00:00Z');
const at = (ms: number) => new Date(NOW + ms).toISOString();
const options = { maxMs: 60_000, now: () => NOW };

describe('redelivery spacing', () => {
  it('waits at least the Retry-After, adding up to 10 % jitter on top', () => {
    const throttled = new ModelThrottledError('busy', { retryAfterMs: 2_000 });

    expect(spacingFor([throttled], [], 1, { ...options, random: () => 0 })).toEqual({ ms: 2_000, why: 'retry-after' });
    expect(spacingFor([throttled], [], 1, { ...options, random: () => 0.999 }).ms).toBeLessThanOrEqual(2_200);
  });

  it('finds a Retry-After the publish failure wraps, and takes the longest of several failures', () => {
    const wrapped = new PublishFailedError('could not publish', { cause: new ModelThrottledError('server busy', { retryAfterMs: 3_000 }) });
    const inContext = new PublishFailedError('busy namespace', { context: { retryAfterMs: 5_000 } });

    expect(spacingFor([wrapped, inContext], [], 1, { ...options, random: () => 0 })).toEqual({ ms: 5_000, why: 'retry-after' });
  });

  it('waits for the first open circuit of the placement to close', () => {
    const placement = { skipped: [{ endpointId: 'a', reason: 'circuit open', until: at(12_000) }, { endpointId: 'b', reason: 'circuit open', until: at(7_000) }] } as PlacementDecision;
    const allOpen = new ModelUnavailableError('every endpoint allowed is unavailable: circuit open', { context: { placement } });

    expect(spacingFor([allOpen], [], 1, { ...options, random: () => 0 })).toEqual({ ms: 7_000, why: 'circuit-cooldown' });
    expect(spacingFor([new ModelUnavailableError('down')], [placement], 1, { ...options, random: () => 0 })).toEqual({ ms: 7_000, why: 'circuit-cooldown' });
  });

  it('backs off exponentially by delivery count with equal jitter, capped', () => {
    const error = new ModelUnavailableError('503');
    const ms = (n: number, r: number) => spacingFor([error], [], n, { maxMs: 30_000, random: () => r }).ms;

    expect([1, 2, 3, 4, 5, 6, 10].map((n) => ms(n, 0))).toEqual([1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => ms(n, 0.999999))).toEqual([2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('never waits longer than the cap, whatever the server asks', () => {
    expect(spacingFor([new ModelThrottledError('busy', { retryAfterMs: 600_000 })], [], 1, { maxMs: 60_000 }).ms).toBe(60_000);
  });
});
