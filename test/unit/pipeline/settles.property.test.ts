import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClaimLostError,
  ModelRequestError,
  ModelThrottledError,
  Pipeline,
  type Destination,
  type Envelope,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
  type PublishOutcome,
  type Publisher,
  type Route,
  type Store,
} from '../../../shared/core/index.ts';
import { createMemoryStore } from '../../../shared/store/index.ts';
import { config, fakePlacer, orderEvent, route } from './fixtures.ts';

/*
 * `Pipeline.process` settles every route before it returns, whatever fails around a route:
 * the claim store, the model, the publisher, releasing the claim, recording the failure.
 * An edge reads a route's result (and settles its message) right after `process` returns;
 * a route still running then is a result that is dropped and a claim that says "done".
 */

type Fault = 'none' | 'throws' | 'claim-lost';
interface RouteScript {
  model: 'ok' | 'throttled' | 'rejected';
  modelDelay: number;
  publish: 'ok' | 'fails' | 'throws';
  publishDelay: number;
  begin: Fault;
  renew: Fault;
  complete: Fault;
  release: Fault;
  record: Fault;
}

const fault = fc.constantFrom<Fault>('none', 'none', 'throws', 'claim-lost');
const script: fc.Arbitrary<RouteScript> = fc.record({
  model: fc.constantFrom('ok', 'ok', 'throttled', 'rejected'),
  modelDelay: fc.integer({ min: 0, max: 4 }),
  publish: fc.constantFrom('ok', 'ok', 'fails', 'throws'),
  publishDelay: fc.integer({ min: 0, max: 4 }),
  begin: fc.constantFrom<Fault>('none', 'none', 'none', 'throws'),
  renew: fault,
  complete: fault,
  release: fault,
  record: fc.constantFrom<Fault>('none', 'throws'),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts every call into a port that has started and not yet finished. */
class InFlight {
  count = 0;
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await work();
    } finally {
      this.count--;
    }
  }
}

function routeId(i: number) {
  return `route-${i}`;
}

function routeOf(envelopeOrRequest: string): number {
  return Number(/route-(\d+)/.exec(envelopeOrRequest)?.[1] ?? -1);
}

function harness(scripts: RouteScript[]) {
  const inFlight = new InFlight();
  const store = createMemoryStore();
  const scriptFor = (key: string) => scripts[routeOf(key)]!;
  const faulty = (f: Fault, what: string) => {
    if (f === 'throws') throw new Error(`store down during ${what}`);
    if (f === 'claim-lost') throw new ClaimLostError(`claim lost during ${what}`);
  };
  const idempotency = store.idempotency;
  const faultyStore: Store = {
    ...store,
    idempotency: {
      peek: (key) => idempotency.peek(key),
      begin: (key, until) => inFlight.track(async () => (faulty(scriptFor(key).begin, 'begin'), idempotency.begin(key, until))),
      renew: (key, token, until) => inFlight.track(async () => (await sleep(1), faulty(scriptFor(key).renew, 'renew'), idempotency.renew(key, token, until))),
      complete: (key, token, id) => inFlight.track(async () => (await sleep(1), faulty(scriptFor(key).complete, 'complete'), idempotency.complete(key, token, id))),
      release: (key, token) => inFlight.track(async () => (await sleep(1), faulty(scriptFor(key).release, 'release'), idempotency.release(key, token))),
    },
    failures: {
      ...store.failures,
      recordFailure: (record) =>
        inFlight.track(async () => {
          await sleep(2);
          if (scripts[routeOf(record.routeId ?? '')]!.record === 'throws') throw new Error('ledger down');
          return store.failures.recordFailure(record);
        }),
    },
  };
  const provider: ModelProvider = {
    kind: 'scripted',
    invoke: (request: ModelRequest): Promise<ModelResponse> =>
      inFlight.track(async () => {
        const s = scripts[routeOf(request.prompt)]!;
        await sleep(s.modelDelay);
        if (s.model === 'throttled') throw new ModelThrottledError('slow down', { context: { endpoint: request.endpoint.id } });
        if (s.model === 'rejected') throw new ModelRequestError('bad request', { context: { endpoint: request.endpoint.id } });
        return { output: { score: 1 }, usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1 };
      }),
  };
  const publisher: Publisher = {
    publish: (_destination: Destination, events: Envelope[]): Promise<PublishOutcome[]> =>
      inFlight.track(async () => {
        const s = scripts[routeOf(String(events[0]!.event.extensions.meshroute))]!;
        await sleep(s.publishDelay);
        if (s.publish === 'throws') throw new Error('socket hang up');
        if (s.publish === 'fails') return events.map((e) => ({ id: e.event.id, ok: false as const, error: new ModelThrottledError('bus throttled') }));
        return events.map((e) => ({ ok: true as const, id: e.event.id }));
      }),
  };
  const routes: Route[] = scripts.map((_, i) =>
    route({ id: routeId(i) }, { prompt: `${routeId(i)} scores order {{detail.orderId}}`, attemptsPerEndpoint: 1, timeoutMs: 1_000 }),
  );
  const pipeline = new Pipeline({
    config: config(),
    routes,
    matcher: { matches: () => routes.map((r) => r.id) },
    placer: fakePlacer,
    providers: { get: () => provider },
    publisher,
    store: faultyStore,
    summarizePlacement: () => 'test',
    random: () => 0,
  });
  return { pipeline, inFlight, store };
}

describe('Pipeline.process settles every route', () => {
  it('never leaves a route running after it returns, and gives every matched route an outcome', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(script, { minLength: 1, maxLength: 5 }), async (scripts) => {
        // Prepare
        const { pipeline, inFlight } = harness(scripts);
        // Act
        const outcome = await pipeline.process(orderEvent('e-prop'));
        // Assess: nothing still running, one outcome per route, each a settled status.
        expect(inFlight.count).toBe(0);
        expect(outcome.routes.map((r) => r.routeId)).toEqual(scripts.map((_, i) => routeId(i)));
        for (const r of outcome.routes) expect(['emitted', 'duplicate', 'in-progress', 'failed']).toContain(r.status);
      }),
      { numRuns: 60 },
    );
  });

  it('turns a ledger failure while recording a failure into that route’s retryable failure, and its siblings still finish', async () => {
    const ok: RouteScript = { model: 'ok', modelDelay: 3, publish: 'ok', publishDelay: 3, begin: 'none', renew: 'none', complete: 'none', release: 'none', record: 'none' };
    const { pipeline, inFlight } = harness([{ ...ok, model: 'rejected', modelDelay: 0, record: 'throws' }, ok]);

    const outcome = await pipeline.process(orderEvent('e-ledger'));

    expect(inFlight.count).toBe(0);
    const [broken, sibling] = outcome.routes;
    expect(broken).toMatchObject({ status: 'failed', error: { code: 'StoreUnavailable', retryable: true } });
    expect(broken!.error!.message).toMatch(/ModelRequestRejected|bad request/);
    expect(sibling).toMatchObject({ status: 'emitted' });
  });

  it('reports a claim store that cannot be reached as a retryable failure without calling the model', async () => {
    const ok: RouteScript = { model: 'ok', modelDelay: 0, publish: 'ok', publishDelay: 0, begin: 'throws', renew: 'none', complete: 'none', release: 'none', record: 'none' };
    const { pipeline } = harness([ok]);

    const outcome = await pipeline.process(orderEvent('e-down'));

    expect(outcome.routes[0]).toMatchObject({ status: 'failed', attempts: [], error: { code: 'StoreUnavailable', retryable: true } });
  });
});
