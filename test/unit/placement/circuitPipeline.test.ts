import { describe, expect, it } from 'vitest';
import { ModelThrottledError, Pipeline, type Route } from '../../../shared/core/index.ts';
import { createCircuitBreaker, createPlacer, summarizePlacement } from '../../../shared/placement/index.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';
import { config, envelope, route } from './fixtures.ts';

/* The circuit breaker inside the real pipeline: placer and invoke step share one instance. */

const throttled: Step = { error: new ModelThrottledError('slow down', { retryAfterMs: 0 }) };

function mesh(scripts: Record<string, Step[]>, r: Route) {
  const clock = new FakeClock();
  const store = createMemoryStore({ clock });
  const health = createCircuitBreaker({ clock, failures: 2, windowMs: 60_000, cooldownMs: 30_000 });
  const provider = new ScriptedProvider(scripts);
  const pipeline = new Pipeline({
    config: config(),
    routes: [r],
    matcher: { matches: () => [r.id] },
    placer: createPlacer(config(), { health }),
    providers: { get: () => provider },
    publisher: { publish: async (_d, events) => events.map((e) => ({ id: e.event.id, ok: true as const })) },
    store,
    summarizePlacement,
    clock,
    random: () => 0,
    health,
  });
  const send = (id: string) => pipeline.process({ ...envelope(), event: { ...envelope().event, id } });
  return { clock, store, health, provider, send };
}

describe('the pipeline with endpoint circuits', () => {
  it('fails over to the next allowed endpoint, then stops calling the failing one once its circuit opens', async () => {
    // Prepare: US internal data; the nearest endpoint always throttles
    const { provider, send, health } = mesh({ 'sim-bedrock-us-east-1': [throttled], 'sim-azure-eastus': [{ output: { ok: true } }] }, route({ classification: 'internal' }));
    // Act: two events open the circuit, the third is placed around it
    const first = await send('e-1');
    await send('e-2');
    const third = await send('e-3');
    // Assess
    expect(first.routes[0]).toMatchObject({ status: 'emitted', endpoint: 'sim-azure-eastus' });
    expect(first.routes[0]!.attempts.map((a) => a.endpoint)).toEqual(['sim-bedrock-us-east-1', 'sim-azure-eastus']);
    expect(health.state('sim-bedrock-us-east-1')).toBe('open');
    expect(third.routes[0]!.attempts.map((a) => a.endpoint)).toEqual(['sim-azure-eastus']);
    expect(third.routes[0]!.placement?.skipped?.map((s) => s.endpointId)).toEqual(['sim-bedrock-us-east-1']);
    const provenance = (third.routes[0]!.result!.event.data as { provenance: { placement: string } }).provenance;
    expect(provenance.placement).toContain('(circuit open: sim-bedrock-us-east-1)');
    // never an endpoint the policy forbids
    expect(new Set(provider.calls.map((c) => c.endpoint.id))).toEqual(new Set(['sim-bedrock-us-east-1', 'sim-azure-eastus']));
  });

  it('fails the event as retryable, with no model call, when every allowed endpoint’s circuit is open', async () => {
    // Prepare: pii in us-east-1 may only use sim-bedrock-us-east-1, which throttles
    const { provider, send, store } = mesh({ 'sim-bedrock-us-east-1': [throttled] }, route({ classification: 'pii' }));
    await send('e-1');
    await send('e-2');
    const callsBefore = provider.calls.length;
    // Act
    const outcome = await send('e-3');
    // Assess
    const r = outcome.routes[0]!;
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ code: 'ModelUnavailable', retryable: true });
    expect(r.error!.message).toContain('circuit open');
    expect(provider.calls.length).toBe(callsBefore);
    const record = await store.failures.getFailure(r.failureId!);
    expect(record).toMatchObject({ errorCode: 'ModelUnavailable', retryable: true, attempts: [] });
    expect(record!.placement?.skipped?.[0]?.endpointId).toBe('sim-bedrock-us-east-1');
  });

  it('tries the endpoint again once the cooldown has passed', async () => {
    const { clock, provider, send } = mesh({ 'sim-bedrock-us-east-1': [throttled, throttled, { output: { ok: true } }] }, route({ classification: 'pii' }));
    await send('e-1');
    await send('e-2');
    clock.advance(30_000);
    const outcome = await send('e-3');
    expect(outcome.routes[0]).toMatchObject({ status: 'emitted', endpoint: 'sim-bedrock-us-east-1' });
    expect(provider.calls).toHaveLength(3);
  });
});
