import { describe, expect, it } from 'vitest';
import { ModelAuthError, ModelThrottledError, ModelUnavailableError, PolicyViolationError } from '../../../shared/core/index.ts';
import { createCircuitBreaker, createPlacer } from '../../../shared/placement/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { config, envelope, route } from './fixtures.ts';

const retryable = { retryable: true };

function breaker(clock = new FakeClock()) {
  return { clock, health: createCircuitBreaker({ clock, failures: 3, windowMs: 10_000, cooldownMs: 30_000 }) };
}

describe('createCircuitBreaker', () => {
  it('opens after the configured number of consecutive retryable failures, until the cooldown ends', () => {
    // Prepare
    const { clock, health } = breaker();
    // Act
    health.failed('a', retryable);
    health.failed('a', retryable);
    const beforeThird = health.openUntil('a');
    health.failed('a', retryable);
    // Assess
    expect(beforeThird).toBeUndefined();
    expect(health.state('a')).toBe('open');
    expect(health.openUntil('a')?.toISOString()).toBe(new Date(clock.now().getTime() + 30_000).toISOString());
    expect(health.state('b')).toBe('closed');
  });

  it('forgets failures older than the window', () => {
    const { clock, health } = breaker();
    health.failed('a', retryable);
    health.failed('a', retryable);
    clock.advance(10_001);
    health.failed('a', retryable);
    expect(health.state('a')).toBe('closed');
  });

  it('starts counting again after a success', () => {
    const { health } = breaker();
    health.failed('a', retryable);
    health.failed('a', retryable);
    health.succeeded('a');
    health.failed('a', retryable);
    expect(health.state('a')).toBe('closed');
  });

  it('does not count failures that retrying cannot fix', () => {
    const { health } = breaker();
    for (let i = 0; i < 5; i++) health.failed('a', new ModelAuthError('denied'));
    expect(health.state('a')).toBe('closed');
  });

  it('half-opens after the cooldown: one failure reopens it, a success closes it', () => {
    // Prepare: open
    const { clock, health } = breaker();
    for (let i = 0; i < 3; i++) health.failed('a', new ModelThrottledError('slow down'));
    // Act + Assess
    clock.advance(30_000);
    expect(health.state('a')).toBe('half-open');
    expect(health.openUntil('a')).toBeUndefined();
    health.failed('a', retryable);
    expect(health.state('a')).toBe('open');
    clock.advance(30_000);
    health.succeeded('a');
    expect(health.state('a')).toBe('closed');
  });
});

describe('createPlacer with endpoint health', () => {
  it('skips an allowed endpoint whose circuit is open and says until when', () => {
    // Prepare: US internal data, the nearest endpoint's circuit open
    const { clock, health } = breaker();
    for (let i = 0; i < 3; i++) health.failed('sim-bedrock-us-east-1', retryable);
    // Act
    const decision = createPlacer(config(), { health }).place(route({ classification: 'internal' }), envelope());
    // Assess
    const until = new Date(clock.now().getTime() + 30_000).toISOString();
    expect(decision.ranked.map((r) => r.endpoint.id)).toEqual(['sim-azure-eastus']);
    expect(decision.skipped).toEqual([{ endpointId: 'sim-bedrock-us-east-1', reason: `circuit open until ${until}`, until }]);
  });

  it('never offers a forbidden endpoint in place of one whose circuit is open', () => {
    // pii in us-east-1 allows only sim-bedrock-us-east-1; with it open, nothing else is offered
    const { health } = breaker();
    for (let i = 0; i < 3; i++) health.failed('sim-bedrock-us-east-1', retryable);
    let thrown: unknown;
    try {
      createPlacer(config(), { health }).place(route({ classification: 'pii' }), envelope());
    } catch (err) {
      thrown = err;
    }
    // Assess: retryable, not a policy violation, and the decision shows why
    expect(thrown).toBeInstanceOf(ModelUnavailableError);
    expect(thrown).not.toBeInstanceOf(PolicyViolationError);
    const err = thrown as ModelUnavailableError;
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/every endpoint allowed for route order-risk is unavailable for event e-1: circuit open \(sim-bedrock-us-east-1 until .*\); no model call is made/);
    expect(err.context.placement).toMatchObject({ ranked: [], skipped: [{ endpointId: 'sim-bedrock-us-east-1' }] });
  });

  it('still reports a policy violation, not the circuit, when nothing is allowed at all', () => {
    const { health } = breaker();
    for (let i = 0; i < 3; i++) health.failed('sim-azure-westeurope', retryable);
    expect(() => createPlacer(config(), { health }).place(route({ classification: 'pii' }), envelope({ datalocation: 'azure:swedencentral' }))).toThrow(PolicyViolationError);
  });
});
