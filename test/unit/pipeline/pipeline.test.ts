import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ModelAuthError,
  ModelThrottledError,
  Pipeline,
  resultId,
  StoreUnavailableError,
  type Route,
  type Store,
} from '../../../shared/core/index.ts';
import { createMemoryStore, openLocalStore } from '../../../shared/store/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { ScriptedProvider, type Step } from '../../fakes/scriptedProvider.ts';
import { config, fakePlacer, orderEvent, RecordingPublisher, route } from './fixtures.ts';

let clock: FakeClock;
let store: Store;
let publisher: RecordingPublisher;

beforeEach(() => {
  clock = new FakeClock();
  store = createMemoryStore({ clock });
  publisher = new RecordingPublisher();
});

function pipelineWith(scripts: Record<string, Step[]>, routes: Route[] = [route()], unavailable: string[] = []) {
  const provider = new ScriptedProvider(scripts);
  const pipeline = new Pipeline({
    config: config(),
    routes,
    matcher: { matches: (e) => routes.filter((r) => (e as { source: string }).source === (r.match.source as string[])[0]).map((r) => r.id) },
    placer: fakePlacer,
    providers: {
      get: (kind) => {
        if (unavailable.includes(kind)) throw new ModelAuthError(`provider ${kind} is not available`);
        return provider;
      },
    },
    publisher,
    store,
    summarizePlacement: (d) => `summary of ${d.routeId}`,
    clock,
    random: () => 0.5,
  });
  return { pipeline, provider };
}

describe('Pipeline', () => {
  it('emits a result with a deterministic id, correlation, causation and provenance, back to the origin bus', async () => {
    // Prepare
    const { pipeline, provider } = pipelineWith({ near: [{ output: { score: 87 } }] });
    // Act
    const outcome = await pipeline.process(orderEvent('e-1'));
    // Assess
    expect(outcome.routes).toHaveLength(1);
    const r = outcome.routes[0]!;
    expect(r.status).toBe('emitted');
    expect(r.resultId).toBe(resultId('order-risk', 'e-1'));
    expect(provider.calls[0]!.prompt).toBe('Score order "A-1" of 120');
    expect(provider.calls[0]!.system).toBe('You score orders.');
    const [published] = publisher.published;
    expect(published!.destination).toMatchObject({ kind: 'eventbridge', bus: 'orders', region: 'us-east-1' });
    const result = published!.envelope.event;
    expect(result).toMatchObject({ id: r.resultId, source: 'nearmesh.order-risk', type: 'OrderRiskScored' });
    expect(result.extensions).toMatchObject({ correlationid: 'e-1', causationid: 'e-1', meshendpoint: 'near' });
    expect(result.data).toMatchObject({
      result: { score: 87 },
      provenance: { route: 'order-risk', endpoint: 'near', region: 'us-east-1', tokens: { input: 100, output: 20 }, latencyMs: 42, placement: 'summary of order-risk', costUsd: 0.00014 },
    });
  });

  it('keeps the input correlation id when the event carries one', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 1 } }] });
    const input = orderEvent('e-2');
    input.event.extensions.correlationid = 'checkout-77';
    await pipeline.process(input);
    expect(publisher.published[0]!.envelope.event.extensions).toMatchObject({ correlationid: 'checkout-77', causationid: 'e-2' });
  });

  it('yields one result when the same event is delivered twice', async () => {
    const { pipeline, provider } = pipelineWith({ near: [{ output: { score: 5 } }] });
    const first = await pipeline.process(orderEvent('dup'));
    const second = await pipeline.process(orderEvent('dup'));
    expect(second.routes[0]).toMatchObject({ status: 'duplicate', resultId: first.routes[0]!.resultId });
    expect(publisher.published).toHaveLength(1);
    expect(provider.calls).toHaveLength(1);
  });

  it('waits for Retry-After on a throttle, then fails over to the next endpoint when throttling persists', async () => {
    const throttle = { error: new ModelThrottledError('slow down', { retryAfterMs: 750 }) };
    const { pipeline, provider } = pipelineWith({ near: [throttle, throttle], far: [{ output: { score: 9 } }] });
    const outcome = await pipeline.process(orderEvent());
    expect(outcome.routes[0]).toMatchObject({ status: 'emitted', endpoint: 'far' });
    expect(clock.sleeps).toEqual([750]);
    expect(provider.callsTo('near')).toBe(2);
    expect(outcome.routes[0]!.attempts.map((a) => [a.endpoint, a.attempt, a.error?.code])).toEqual([
      ['near', 1, 'ModelThrottled'],
      ['near', 2, 'ModelThrottled'],
      ['far', 1, undefined],
    ]);
  });

  it('fails over at once on a non-retryable endpoint error', async () => {
    const { pipeline, provider } = pipelineWith({ near: [{ error: new ModelAuthError('403') }], far: [{ output: { score: 3 } }] });
    const outcome = await pipeline.process(orderEvent());
    expect(outcome.routes[0]!.status).toBe('emitted');
    expect(provider.callsTo('near')).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('records an unavailable provider as a failed attempt on each endpoint instead of crashing', async () => {
    const r = route();
    const { pipeline } = pipelineWith({ far: [{ output: { score: 6 } }] }, [r], ['scripted']);
    const outcome = await pipeline.process(orderEvent('no-provider'));
    expect(outcome.routes[0]!.status).toBe('failed');
    expect(outcome.routes[0]!.attempts.map((a) => a.endpoint)).toEqual(['near', 'far']);
    expect(outcome.routes[0]!.error?.message).toContain('provider scripted is not available');
  });

  it('dead-letters the event when the output fails its schema on every attempt, keeping each attempt', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 'high' } }], far: [{ output: {} }] });
    const outcome = await pipeline.process(orderEvent('bad-out'));
    const r = outcome.routes[0]!;
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('ModelOutputInvalid');
    const record = await store.failures.getFailure(r.failureId!);
    expect(record).toMatchObject({ eventId: 'bad-out', routeId: 'order-risk', errorCode: 'ModelOutputInvalid', status: 'open' });
    expect(record!.attempts).toHaveLength(4);
    expect(record!.envelope).toEqual(orderEvent('bad-out'));
    expect(publisher.published).toHaveLength(0);
  });

  it('makes no model call when the residency policy allows no endpoint, and records why', async () => {
    const secret = route({ data: { classification: 'secret' } });
    const { pipeline, provider } = pipelineWith({ near: [{ output: { score: 1 } }] }, [secret]);
    const outcome = await pipeline.process(orderEvent('pii-1'));
    expect(provider.calls).toHaveLength(0);
    expect(outcome.routes[0]!.error?.code).toBe('PolicyViolation');
    const record = await store.failures.getFailure(outcome.routes[0]!.failureId!);
    expect(record!.placement?.rejected).toEqual([
      { endpointId: 'near', reason: 'secret stays home' },
      { endpointId: 'far', reason: 'secret stays home' },
    ]);
  });

  it('fails the event, not the mesh, when a template slot names a missing field', async () => {
    const { pipeline, provider } = pipelineWith({ near: [{ output: { score: 1 } }] });
    const outcome = await pipeline.process(orderEvent('no-total', { orderId: 'A-9' }));
    expect(provider.calls).toHaveLength(0);
    expect(outcome.routes[0]!.error).toMatchObject({ code: 'TemplateError' });
    expect(outcome.routes[0]!.error!.message).toContain('{{detail.total}}');
  });

  it('closes the failure record when a later delivery of the same event succeeds, with the same result id', async () => {
    const { pipeline } = pipelineWith({ near: [{ error: new ModelAuthError('403') }, { output: { score: 2 } }], far: [{ error: new ModelAuthError('403') }, { output: { score: 2 } }] });
    const failed = await pipeline.process(orderEvent('again'));
    expect(failed.routes[0]!.status).toBe('failed');
    const retried = await pipeline.process(orderEvent('again'));
    expect(retried.routes[0]).toMatchObject({ status: 'emitted', resultId: resultId('order-risk', 'again') });
    const record = await store.failures.getFailure(failed.routes[0]!.failureId!);
    expect(record!.status).toBe('resolved');
  });

  it('gives up with ModelTimeout when the route budget runs out, without waiting forever', async () => {
    const r = route({}, { timeoutMs: 50 });
    const { pipeline } = pipelineWith({ near: [{ hang: true }], far: [{ hang: true }] }, [r]);
    const outcome = await pipeline.process(orderEvent('slow'));
    expect(outcome.routes[0]!.error?.code).toBe('ModelTimeout');
    expect(outcome.routes[0]!.attempts).toHaveLength(1);
  });

  it('records PublishFailed and lets the next delivery publish the same result', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 4 } }] });
    publisher.failNext = 1;
    const first = await pipeline.process(orderEvent('pub'));
    expect(first.routes[0]!.error?.code).toBe('PublishFailed');
    const second = await pipeline.process(orderEvent('pub'));
    expect(second.routes[0]!.status).toBe('emitted');
    expect(publisher.published.map((p) => p.envelope.event.id)).toEqual([resultId('order-risk', 'pub')]);
  });

  it('keeps a publisher\'s non-retryable verdict: PublishRejected, not a retryable PublishFailed', async () => {
    const { pipeline } = pipelineWith({ near: [{ output: { score: 4 } }] });
    publisher.rejectNext = 1;
    const outcome = await pipeline.process(orderEvent('rejected'));
    expect(outcome.routes[0]!.error).toMatchObject({ code: 'PublishRejected', retryable: false });
    expect(outcome.routes[0]!.error!.message).toContain('to destination eventbridge:orders: entry over 256 KB');
  });

  it('logs the input and reports no routes for an event nothing matches', async () => {
    const { pipeline } = pipelineWith({});
    const input = orderEvent('other');
    input.event.source = 'com.acme.unrelated';
    const outcome = await pipeline.process(input);
    expect(outcome.routes).toEqual([]);
    const log = await store.events.listEvents({ kind: 'input' });
    expect(log.map((e) => e.eventId)).toEqual(['other']);
  });

  it('publishes to the named destinations when the route has them', async () => {
    const r = route({ emit: { source: 's', detailType: 'T', to: ['audit'] } });
    const { pipeline } = pipelineWith({ near: [{ output: { score: 1 } }] }, [r]);
    const outcome = await pipeline.process(orderEvent());
    expect(outcome.routes[0]!.destinations).toEqual(['audit']);
    expect(publisher.published[0]!.destination.name).toBe('audit');
  });

  it('runs only the route a delivery was made for, without matching', async () => {
    const other = route({ id: 'order-audit', match: { source: ['com.acme.orders'] } });
    const { pipeline } = pipelineWith({ near: [{ output: { score: 2 } }] }, [route(), other]);

    const outcome = await pipeline.process(orderEvent('one-route'), { route: 'order-audit' });

    expect(outcome.routes.map((r) => [r.routeId, r.status])).toEqual([['order-audit', 'emitted']]);
    expect(publisher.published.map((p) => p.envelope.event.extensions.meshroute)).toEqual(['order-audit']);
  });

  it('fails a delivery for a route this deployment does not load, without a model call', async () => {
    const { pipeline, provider } = pipelineWith({ near: [{ output: { score: 2 } }] });

    const outcome = await pipeline.process(orderEvent('gone'), { route: 'retired-route' });

    expect(outcome.routes[0]).toMatchObject({ routeId: 'retired-route', status: 'failed', error: { code: 'RouteNotLoaded', retryable: false } });
    expect(provider.calls).toHaveLength(0);
  });
});

describe('Pipeline claims are leases with an owner', () => {
  /** A model endpoint that answers only when the test says so. */
  function gatedPipeline() {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let calls = 0;
    const r = route({}, { timeoutMs: 10_000 });
    const pipeline = new Pipeline({
      config: config(),
      routes: [r],
      matcher: { matches: () => [r.id] },
      placer: fakePlacer,
      providers: {
        get: () => ({
          kind: 'gated',
          invoke: async () => {
            calls++;
            if (calls === 1) await gate;
            return { output: { score: calls }, usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1 };
          },
        }),
      },
      publisher,
      store,
      summarizePlacement: () => 'test',
      clock,
      random: () => 0.5,
    });
    return { pipeline, open: () => open(), calls: () => calls };
  }

  it('a holder that outlived its lease does not publish over the delivery that took the claim over', async () => {
    // Prepare: the first delivery claims and stalls in its model call past its lease.
    const { pipeline, open, calls } = gatedPipeline();
    const stalled = pipeline.process(orderEvent('slow'));
    await new Promise((r) => setTimeout(r, 5));
    clock.advance(20_001); // the lease was 2 × the route's 10 s budget
    // Act: a redelivery takes the claim over and finishes; then the stalled one wakes up.
    const second = await pipeline.process(orderEvent('slow'));
    open();
    const first = await stalled;
    // Assess: one publish, by the new owner; the old holder learnt it lost the claim.
    expect(second.routes[0]!.status).toBe('emitted');
    expect(first.routes[0]!.status).toBe('in-progress');
    expect(calls()).toBe(2);
    expect(publisher.published).toHaveLength(1);
    expect(await store.idempotency.peek('order-risk:slow')).toEqual({ state: 'completed', resultId: resultId('order-risk', 'slow') });
    expect(await store.failures.listFailures()).toEqual([]);
  });

  it('a holder whose failure comes after a takeover leaves the new owner\'s claim alone', async () => {
    const { pipeline } = pipelineWith({ near: [{ hang: true }] }, [route({}, { timeoutMs: 30 })]);
    const stalled = pipeline.process(orderEvent('fenced'));
    await new Promise((r) => setTimeout(r, 5));
    clock.advance(61);
    const taken = await store.idempotency.begin('order-risk:fenced', new Date(clock.now().getTime() + 60_000));
    expect(taken.state).toBe('claimed');

    const first = await stalled;

    expect(first.routes[0]!.status).toBe('in-progress');
    expect(await store.idempotency.peek('order-risk:fenced')).toEqual({ state: 'in-progress' });
    expect(await store.failures.listFailures()).toEqual([]);
  });
});

describe('Pipeline units of work', () => {
  /** The memory store, with a unit of work whose commit fails after the steps ran (a full disk). */
  function storeWhoseCommitFails(): Store {
    const inner = createMemoryStore({ clock });
    return {
      ...inner,
      unitOfWork: async (fn) => {
        await fn();
        throw new StoreUnavailableError('embedded store: database or disk is full');
      },
    };
  }

  it('runs an event\'s steps in one unit of work, and settles only after it', async () => {
    const order: string[] = [];
    const inner = createMemoryStore({ clock });
    store = {
      ...inner,
      unitOfWork: async (fn) => {
        order.push('unit begins');
        const out = await fn();
        order.push('unit committed');
        return out;
      },
    };
    const { pipeline } = pipelineWith({ near: [{ output: { score: 3 } }] });

    const outcome = await pipeline.process(orderEvent('u-1'));
    order.push('process returned');

    expect(outcome.routes[0]!.status).toBe('emitted');
    expect(order).toEqual(['unit begins', 'unit committed', 'process returned']);
  });

  it('reports an emitted route whose writes could not be committed as a retryable store failure, not as emitted', async () => {
    store = storeWhoseCommitFails();
    const { pipeline } = pipelineWith({ near: [{ output: { score: 3 } }] });

    const outcome = await pipeline.process(orderEvent('u-2'));

    const r = outcome.routes[0]!;
    expect(r).toMatchObject({ status: 'failed', error: { code: 'StoreUnavailable', retryable: true } });
    expect(r.resultId).toBeUndefined();
    expect(r.result).toBeUndefined();
  });

  it('on the embedded store, takes two deliveries of one event at once as one: a single model call and result, while the first holds its transaction open across the call', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nearmesh-pipeline-twice-'));
    const local = await openLocalStore({ dir, clock });
    store = local;
    try {
      const { pipeline, provider } = pipelineWith({ near: [{ output: { score: 3 } }] });
      // The first delivery's model call waits until the second delivery has been told where it stands.
      let answer!: () => void;
      const answered = new Promise<void>((resolve) => (answer = resolve));
      // A backstop, so a second delivery that wrongly waits for the call fails the test rather than hangs it.
      const backstop = setTimeout(() => answer(), 2_000);
      const invoke = provider.invoke.bind(provider);
      provider.invoke = async (request, signal) => {
        await answered;
        return invoke(request, signal);
      };

      const first = pipeline.process(orderEvent('twice'));
      await new Promise((resolve) => setTimeout(resolve, 5));
      const second = await pipeline.process(orderEvent('twice'));
      answer();
      clearTimeout(backstop);
      const done = await first;

      expect(second.routes[0]!.status).toBe('in-progress');
      expect(done.routes[0]).toMatchObject({ status: 'emitted', resultId: resultId('order-risk', 'twice') });
      expect(provider.calls).toHaveLength(1);
      expect(publisher.published).toHaveLength(1);
      expect(await local.idempotency.peek('order-risk:twice')).toEqual({ state: 'completed', resultId: resultId('order-risk', 'twice') });
      // A redelivery after both is a duplicate: nothing is called or published again.
      expect((await pipeline.process(orderEvent('twice'))).routes[0]!.status).toBe('duplicate');
    } finally {
      await local.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does the same for one route run on its own (a replay)', async () => {
    store = storeWhoseCommitFails();
    const { pipeline } = pipelineWith({ near: [{ output: { score: 3 } }] });

    const r = await pipeline.processRoute(route(), orderEvent('u-3'));

    expect(r).toMatchObject({ status: 'failed', error: { code: 'StoreUnavailable', retryable: true } });
    expect(r.resultId).toBeUndefined();
  });
});
