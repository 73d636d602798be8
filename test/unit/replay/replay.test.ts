import { beforeEach, describe, expect, it } from 'vitest';
import { ModelThrottledError, ModelUnavailableError, Pipeline, Replayer, resultId, type Route, type Store } from '../../../shared/core/index.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';
import { config, fakePlacer, orderEvent, RecordingPublisher, route } from '../pipeline/fixtures.ts';

let clock: FakeClock;
let store: Store;
let publisher: RecordingPublisher;

beforeEach(() => {
  clock = new FakeClock();
  store = createMemoryStore({ clock });
  publisher = new RecordingPublisher();
});

/** A mesh whose endpoints follow `scripts`; swap the scripts to turn faults off. */
function mesh(scripts: Record<string, Step[]>, routes: Route[] = [route()]) {
  const provider = new ScriptedProvider(scripts);
  const pipeline = new Pipeline({
    config: config(),
    routes,
    matcher: { matches: () => routes.map((r) => r.id) },
    placer: fakePlacer,
    providers: { get: () => provider },
    publisher,
    store,
    summarizePlacement: () => 'summary',
    clock,
    random: () => 0,
  });
  return { pipeline, provider, replayer: new Replayer({ pipeline, placer: fakePlacer, store, clock }) };
}

const down = { error: new ModelUnavailableError('simulated 503') };

async function failOnce(eventId = 'e-1'): Promise<string> {
  const { pipeline } = mesh({ near: [down], far: [down] });
  const outcome = await pipeline.process(orderEvent(eventId));
  expect(outcome.routes[0]!.status).toBe('failed');
  return outcome.routes[0]!.failureId!;
}

describe('Replayer', () => {
  it('replays a failed event once the fault is gone: one result, the record resolved, the replay in its history', async () => {
    // Prepare: the event failed while both endpoints were down
    const failureId = await failOnce();
    const { replayer } = mesh({ near: [{ output: { score: 42 } }] });
    clock.advance(60_000);
    // Act
    const outcome = await replayer.replay(failureId, { actor: 'ana' });
    // Assess
    expect(outcome).toMatchObject({ outcome: 'succeeded', resultId: resultId('order-risk', 'e-1'), endpoint: 'near' });
    expect(publisher.published.map((p) => p.envelope.event.id)).toEqual([resultId('order-risk', 'e-1')]);
    const record = await store.failures.getFailure(failureId);
    expect(record!.status).toBe('resolved');
    expect(record!.replays).toEqual([{ at: '2026-11-22T08:01:00.000Z', actor: 'ana', outcome: 'succeeded', detail: resultId('order-risk', 'e-1') }]);
  });

  it('does not replay a resolved failure again, so a second run produces no second result', async () => {
    const failureId = await failOnce();
    const { replayer, provider } = mesh({ near: [{ output: { score: 1 } }] });
    await replayer.replay(failureId, { actor: 'ana' });
    const again = await replayer.replay(failureId, { actor: 'ben' });
    expect(again).toMatchObject({ outcome: 'not-replayed', detail: 'already resolved' });
    expect(provider.calls).toHaveLength(1);
    expect(publisher.published).toHaveLength(1);
  });

  it('skips as already done an event whose result exists, and closes its record', async () => {
    // Prepare: the result was emitted (say by a redelivery) but the old record is still open
    const failureId = await failOnce();
    const { replayer, provider } = mesh({ near: [{ output: { score: 1 } }] });
    const claim = await store.idempotency.begin('order-risk:e-1', clock.now());
    if (claim.state !== 'claimed') throw new Error('expected a fresh claim');
    await store.idempotency.complete('order-risk:e-1', claim.token, resultId('order-risk', 'e-1'));
    // Act
    const outcome = await replayer.replay(failureId, { actor: 'ana' });
    // Assess
    expect(outcome).toMatchObject({ outcome: 'already-done', resultId: resultId('order-risk', 'e-1') });
    expect(provider.calls).toHaveLength(0);
    expect((await store.failures.getFailure(failureId))!.status).toBe('resolved');
  });

  it('keeps the record open with the new reason and a count when the replay fails again', async () => {
    const failureId = await failOnce();
    const throttled = { error: new ModelThrottledError('slow down', { retryAfterMs: 10 }) };
    const { replayer } = mesh({ near: [throttled], far: [throttled] });
    const outcome = await replayer.replay(failureId, { actor: 'ana' });
    expect(outcome.outcome).toBe('failed-again');
    expect(outcome.detail).toMatch(/^ModelThrottled: slow down/);
    const record = await store.failures.getFailure(failureId);
    expect(record).toMatchObject({ status: 'open', errorCode: 'ModelThrottled', failures: 2 });
    expect(record!.replays![0]).toMatchObject({ actor: 'ana', outcome: 'failed-again' });
  });

  it('dry run shows the placement it would get now and changes nothing', async () => {
    const failureId = await failOnce();
    const { replayer, provider } = mesh({ near: [{ output: { score: 1 } }] });
    const outcome = await replayer.replay(failureId, { actor: 'ana', dryRun: true });
    expect(outcome).toMatchObject({ outcome: 'would-replay', endpoint: 'near', detail: 'near: tier 0' });
    expect(outcome.placement?.ranked.map((r) => r.endpoint.id)).toEqual(['near', 'far']);
    expect(provider.calls).toHaveLength(0);
    const record = await store.failures.getFailure(failureId);
    expect(record!.status).toBe('open');
    expect(record!.replays).toBeUndefined();
  });

  it('runs on the endpoint given with --model, and only there', async () => {
    const failureId = await failOnce();
    const { replayer, provider } = mesh({ near: [down], far: [{ output: { score: 3 } }] });
    const outcome = await replayer.replay(failureId, { actor: 'ana', model: 'far' });
    expect(outcome).toMatchObject({ outcome: 'succeeded', endpoint: 'far' });
    expect(provider.calls.map((c) => c.endpoint.id)).toEqual(['far']);
    expect((await store.failures.getFailure(failureId))!.replays![0]!.options).toEqual({ model: 'far' });
  });

  it('refuses a --model the residency policy does not allow, keeping the original reason', async () => {
    const failureId = await failOnce();
    const { replayer, provider } = mesh({ near: [{ output: { score: 3 } }] });
    const outcome = await replayer.replay(failureId, { actor: 'ana', model: 'somewhere-else' });
    expect(outcome).toMatchObject({ outcome: 'not-replayed', detail: '--model somewhere-else may not serve this event: it is not in the catalogue' });
    expect(provider.calls).toHaveLength(0);
    expect((await store.failures.getFailure(failureId))!.errorCode).toBe('ModelUnavailable');
  });

  it('replays through a route override with the same id, and refuses one with another id', async () => {
    const failureId = await failOnce();
    const fixed = route({}, { prompt: 'Fixed prompt for {{detail.orderId}}' });
    const { replayer, provider } = mesh({ near: [{ output: { score: 5 } }] });
    const wrong = await replayer.replay(failureId, { actor: 'ana', routeOverride: { route: { ...fixed, id: 'other' }, file: 'other.yaml' } });
    expect(wrong).toMatchObject({ outcome: 'not-replayed', detail: 'route override other.yaml is route other, but this failure is on route order-risk' });
    const ok = await replayer.replay(failureId, { actor: 'ana', routeOverride: { route: fixed, file: 'fixed.yaml' } });
    expect(ok.outcome).toBe('succeeded');
    expect(provider.calls[0]!.prompt).toBe('Fixed prompt for "A-1"');
    expect((await store.failures.getFailure(failureId))!.replays!.map((r) => r.options)).toEqual([{ routeOverride: 'other.yaml' }, { routeOverride: 'fixed.yaml' }]);
  });

  it('says so for an unknown failure id', async () => {
    const { replayer } = mesh({});
    expect(await replayer.replay('nope', { actor: 'ana' })).toEqual({ failureId: 'nope', outcome: 'not-replayed', detail: 'no failure with this id' });
  });
});
