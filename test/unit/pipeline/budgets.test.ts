import { beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  counterWindow,
  ModelUnavailableError,
  Pipeline,
  Replayer,
  usageKeys,
  type MeshConfig,
  type ModelEndpoint,
  type Route,
  type Store,
  type UsageCounters,
} from '../../../shared/core/index.ts';
import { createPlacer, summarizePlacement } from '../../../shared/placement/index.ts';
import { createMemoryStore, memoryCounters } from '../../../shared/store/memory/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';
import { config, endpoint, fakePlacer, orderEvent, RecordingPublisher, route } from './fixtures.ts';

/*
 * Route budgets and endpoint rate limits through the one pipeline: refused before the call,
 * kept as failures, settled with real usage, spilling over only to allowed endpoints, and
 * shared by every pipeline that shares the counters (as every instance of an edge does).
 */

const ANSWER: Step = { output: { score: 7 } };

let clock: FakeClock;
let store: Store;
let publisher: RecordingPublisher;

beforeEach(() => {
  clock = new FakeClock('2026-11-22T08:00:10.000Z');
  store = createMemoryStore({ clock });
  publisher = new RecordingPublisher();
});

function pipelineWith(scripts: Record<string, Step[]>, routes: Route[], opts: { cfg?: MeshConfig; counters?: UsageCounters; provider?: ScriptedProvider; realPlacer?: boolean } = {}) {
  const cfg = opts.cfg ?? config();
  const provider = opts.provider ?? new ScriptedProvider(scripts);
  const placer = opts.realPlacer ? createPlacer(cfg) : fakePlacer;
  const pipeline = new Pipeline({
    config: cfg,
    routes,
    matcher: { matches: () => routes.map((r) => r.id) },
    placer,
    providers: { get: () => provider },
    publisher,
    store,
    ...(opts.counters ? { counters: opts.counters } : {}),
    summarizePlacement,
    clock,
    random: () => 0,
  });
  return { pipeline, provider, placer };
}

/** The scripted provider answers 100 input + 20 output tokens; this prompt estimates ~11 + 100. */
const budgeted = (budget: NonNullable<Route['task']['budget']>, task: Partial<Route['task']> = {}) => route({}, { budget, ...task });

describe('route budgets in the pipeline', () => {
  it('keeps an event over its budget as a BudgetExceeded failure with its event, calls no model, and replays it once the window resets', async () => {
    // Prepare: room for one call (estimate ≈ 111 tokens, real 120) but not two.
    const r = budgeted({ tokens: 200, per: 'hour' });
    const { pipeline, provider, placer } = pipelineWith({ near: [ANSWER] }, [r]);
    await pipeline.process(orderEvent('e-1'));

    // Act
    const outcome = await pipeline.process(orderEvent('e-2'));

    // Assess
    const [routeOutcome] = outcome.routes;
    expect(routeOutcome).toMatchObject({ status: 'failed', attempts: [] });
    expect(routeOutcome!.error).toMatchObject({ code: 'BudgetExceeded', retryable: true });
    expect(routeOutcome!.error!.message).toMatch(/over its budget: 120 tokens used of 200 tokens per hour.*resets at 2026-11-22T09:00:00.000Z/);
    expect(provider.calls).toHaveLength(1);
    const [failure] = await store.failures.listFailures({ status: 'open' });
    expect(failure).toMatchObject({ eventId: 'e-2', routeId: 'order-risk', errorCode: 'BudgetExceeded', retryable: true, envelope: orderEvent('e-2') });
    expect(failure!.message).toMatch(/resets at 2026-11-22T09:00:00.000Z/);

    // Replayed in the same window it fails again; once the window has reset it runs.
    const replayer = new Replayer({ pipeline, placer, store, clock });
    const early = await replayer.replay(failure!.id, { actor: 'oncall' });
    clock.advance(3_600_000);
    const later = await replayer.replay(failure!.id, { actor: 'oncall' });
    expect(early.outcome).toBe('failed-again');
    expect(later.outcome).toBe('succeeded');
    expect(provider.calls).toHaveLength(2);
  });

  it('settles each reservation with the real usage, and gives back all of a failed call\'s tokens', async () => {
    const r = budgeted({ tokens: 10_000, costUsd: 1, per: 'day' }, { attemptsPerEndpoint: 1 });
    const { pipeline } = pipelineWith({ near: [ANSWER], far: [{ error: new ModelUnavailableError('503') }] }, [r]);
    const day = counterWindow('day', clock.now().getTime());

    await pipeline.process(orderEvent('e-1'));

    // Real usage 100 + 20 tokens; price $1 / $2 per million → 100 + 40 micro-USD.
    expect(await store.counters!.read(usageKeys.budgetTokens('order-risk'), day)).toBe(120);
    expect(await store.counters!.read(usageKeys.budgetMicroUsd('order-risk'), day)).toBe(140);
  });

  it('gives back a failed call\'s estimate: no answer, no tokens counted', async () => {
    const r = budgeted({ tokens: 10_000, per: 'day' }, { attemptsPerEndpoint: 1 });
    const { pipeline } = pipelineWith({ near: [{ error: new ModelUnavailableError('503') }], far: [{ error: new ModelUnavailableError('503') }] }, [r]);

    const outcome = await pipeline.process(orderEvent('e-1'));

    expect(outcome.routes[0]!.error!.code).toBe('ModelUnavailable');
    expect(await store.counters!.read(usageKeys.budgetTokens('order-risk'), counterWindow('day', clock.now().getTime()))).toBe(0);
  });

  it('fails the route retryably, keeping the attempts so far and calling no model, when the counters cannot be reached', async () => {
    const down: UsageCounters = {
      reserve: async () => {
        throw new Error('counters table unreachable');
      },
      adjust: async () => 0,
      read: async () => 0,
    };
    const { pipeline, provider } = pipelineWith({ near: [ANSWER] }, [budgeted({ tokens: 10_000, per: 'day' })], { counters: down });

    const outcome = await pipeline.process(orderEvent('e-1'));

    expect(outcome.routes[0]!.error).toMatchObject({ code: 'StoreUnavailable', retryable: true });
    expect(outcome.routes[0]!.error!.message).toMatch(/usage counters unavailable: counters table unreachable/);
    expect(provider.calls).toEqual([]);
    const [failure] = await store.failures.listFailures({ status: 'open' });
    expect(failure).toMatchObject({ errorCode: 'StoreUnavailable', eventId: 'e-1' });
  });

  it('several pipelines sharing the counters never spend past a route budget together', async () => {
    const counters = memoryCounters(clock);
    const provider = new ScriptedProvider({ near: [ANSWER], far: [ANSWER] });
    const instances = [1, 2, 3].map(() => {
      store = createMemoryStore({ clock });
      return pipelineWith({}, [budgeted({ tokens: 500, per: 'hour' })], { counters, provider }).pipeline;
    });

    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => instances[i % 3]!.process(orderEvent(`e-${i}`))));

    // Each call reserves ≈ 111 tokens and settles to 120: four fit in 500, whatever the interleaving.
    const failed = outcomes.map((o) => o.routes[0]!).filter((r) => r.status === 'failed');
    expect(provider.calls).toHaveLength(4);
    expect(failed).toHaveLength(8);
    expect(failed.every((r) => r.error!.code === 'BudgetExceeded')).toBe(true);
    expect(await counters.read(usageKeys.budgetTokens('order-risk'), counterWindow('hour', clock.now().getTime()))).toBe(480);
  });

  it('refuses to start when a route has a budget and the store keeps no counters', () => {
    const { counters: _none, ...noCounters } = createMemoryStore({ clock });
    store = noCounters;

    expect(() => pipelineWith({}, [budgeted({ tokens: 10, per: 'day' })])).toThrow(ConfigError);
    expect(() => pipelineWith({}, [budgeted({ tokens: 10, per: 'day' })])).toThrow(/task\.budget: route order-risk's budget cannot be enforced: .* keeps no usage counters/);
    expect(() => pipelineWith({}, [route()])).not.toThrow();
    expect(() => pipelineWith({}, [budgeted({ tokens: 10, per: 'day' })], { counters: memoryCounters() })).not.toThrow();
  });
});

/** us-east-1 (nearest, rpm-limited), us-west-2 (same geography), eu-central-1 (forbidden for `internal` data in the us). */
function limitedCatalogue(nearLimits: ModelEndpoint['limits'], farLimits?: ModelEndpoint['limits']): MeshConfig {
  const cfg = config();
  cfg.models = [
    { ...endpoint('near', 'us-east-1'), limits: nearLimits },
    { ...endpoint('eu', 'eu-central-1') },
    { ...endpoint('far', 'us-west-2'), ...(farLimits ? { limits: farLimits } : {}) },
  ];
  return cfg;
}

describe('endpoint rate limits in the pipeline', () => {
  const minute = () => counterWindow('minute', clock.now().getTime());

  it('spills over to the next allowed endpoint when the nearest is at its rpm, without calling it, giving back the budget it had reserved', async () => {
    // Prepare: the nearest endpoint has used its minute; the budget has room for one call only (estimate ≈ 111 tokens).
    const cfg = limitedCatalogue({ rpm: 1 });
    const { pipeline, provider } = pipelineWith({ near: [ANSWER], far: [ANSWER], eu: [ANSWER] }, [budgeted({ tokens: 130, per: 'hour' })], { cfg, realPlacer: true });
    await store.counters!.adjust(usageKeys.rpm('near'), minute(), 1);

    // Act
    const outcome = await pipeline.process(orderEvent('e-1'));

    // Assess
    const [o] = outcome.routes;
    expect(o).toMatchObject({ status: 'emitted', endpoint: 'far' });
    expect(o!.attempts.map((a) => [a.endpoint, a.error?.code])).toEqual([
      ['near', 'RateLimited'],
      ['far', undefined],
    ]);
    expect(o!.attempts[0]!.error!.message).toBe('rpm 1 used in this minute, resets at 2026-11-22T08:01:00.000Z');
    expect(provider.calls.map((c) => c.endpoint.id)).toEqual(['far']);
    expect((o!.result!.event.data as { provenance: Record<string, unknown> }).provenance).toMatchObject({
      endpoint: 'far',
      attempts: 2,
      rateLimited: ['near: rpm 1 used in this minute, resets at 2026-11-22T08:01:00.000Z'],
    });
    expect(await store.counters!.read(usageKeys.budgetTokens('order-risk'), counterWindow('hour', clock.now().getTime()))).toBe(120);
    expect(await store.counters!.read(usageKeys.rpm('far'), minute())).toBe(0);
  });

  it('never spills over to an endpoint the residency policy forbids: with every allowed one at its limit, the failure is retryable and names each', async () => {
    const cfg = limitedCatalogue({ rpm: 1 }, { rpm: 5, tpm: 100 });
    const { pipeline, provider } = pipelineWith({ near: [ANSWER], far: [ANSWER], eu: [ANSWER] }, [route()], { cfg, realPlacer: true });
    await store.counters!.adjust(usageKeys.rpm('near'), minute(), 1);

    const outcome = await pipeline.process(orderEvent('e-1'));

    const [o] = outcome.routes;
    expect(o!.status).toBe('failed');
    expect(o!.error).toMatchObject({ code: 'RateLimited', retryable: true });
    expect(o!.error!.message).toMatch(/every allowed endpoint is at its rate limit, so none was called \(near: rpm 1 used in this minute, resets at 2026-11-22T08:01:00.000Z; far: tpm 0 used in this minute \(this call needs up to 111 of 100\)/);
    expect(o!.error!.context.retryAfterMs).toBe(50_000);
    expect(provider.calls).toEqual([]);
    const [failure] = await store.failures.listFailures({ status: 'open' });
    expect(failure).toMatchObject({ errorCode: 'RateLimited', retryable: true, eventId: 'e-1' });
    expect(failure!.attempts.map((a) => a.endpoint)).toEqual(['near', 'far']);
  });

  it('several pipelines sharing the counters never exceed an endpoint limit or a route budget together', async () => {
    const cfg = limitedCatalogue({ rpm: 4 }, { rpm: 3 });
    const counters = memoryCounters(clock);
    const provider = new ScriptedProvider({ near: [ANSWER], far: [ANSWER] });
    // Every instance has its own store (claims, ledger) but the counters are one, as in a cloud table.
    const instances = [1, 2, 3].map(() => {
      store = createMemoryStore({ clock });
      return pipelineWith({}, [budgeted({ tokens: 1_000, per: 'hour' })], { cfg, counters, provider, realPlacer: true }).pipeline;
    });

    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => instances[i % 3]!.process(orderEvent(`e-${i}`))));

    const statuses = outcomes.map((o) => o.routes[0]!);
    expect(provider.callsTo('near')).toBeLessThanOrEqual(4);
    expect(provider.callsTo('far')).toBeLessThanOrEqual(3);
    expect(provider.calls.length * 120).toBeLessThanOrEqual(1_000);
    expect(provider.calls.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s.status === 'emitted')).toHaveLength(provider.calls.length);
    expect(statuses.filter((s) => s.status === 'failed').every((s) => ['RateLimited', 'BudgetExceeded'].includes(s.error!.code))).toBe(true);
    expect(await counters.read(usageKeys.budgetTokens('order-risk'), counterWindow('hour', clock.now().getTime()))).toBe(provider.calls.length * 120);
  });
});
