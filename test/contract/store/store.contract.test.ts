import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClaimLostError, type Store } from '../../../shared/core/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { dynamoDbAdapter, entry, envelope, failure, localAdapter, memoryAdapter, tableStorageAdapter, type Adapter } from './fixtures.ts';

// One specification, every adapter: the pipeline must not be able to tell them apart. The
// cloud adapters keep only idempotency (their ledger and event log are the transport's), so
// they run the idempotency part.
describe.each<Adapter>([memoryAdapter, localAdapter(), dynamoDbAdapter(), tableStorageAdapter()])('Store contract: $name', (adapter) => {
  let clock: FakeClock;
  let store: Store;
  let cleanup: () => Promise<void>;
  let teardown: () => Promise<void>;

  beforeAll(async () => {
    teardown = await adapter.setup();
  });
  afterAll(() => teardown());
  beforeEach(async () => {
    clock = new FakeClock('2026-11-22T08:00:00.000Z');
    ({ store, cleanup } = await adapter.open(clock));
  });
  afterEach(() => cleanup());

  const inMs = (ms: number) => new Date(clock.now().getTime() + ms);

  describe('idempotency', () => {
    const claimed = { state: 'claimed', token: expect.any(String) };
    /** The owner token of a fresh claim (fails the test when `begin` did not claim). */
    const claim = async (key: string, expiresAt: Date): Promise<string> => {
      const got = await store.idempotency.begin(key, expiresAt);
      if (got.state !== 'claimed') throw new Error(`expected to claim ${key}, got ${JSON.stringify(got)}`);
      return got.token;
    };

    it('claims a new key once with an owner token; a second caller sees it in progress, other keys are unaffected', async () => {
      const first = await store.idempotency.begin('route-a:evt-1', inMs(60_000));

      expect(first).toEqual(claimed);
      expect((first as { token: string }).token.length).toBeGreaterThanOrEqual(16);
      expect(await store.idempotency.begin('route-a:evt-1', inMs(60_000))).toEqual({ state: 'in-progress' });
      expect(await store.idempotency.begin('route-b:evt-1', inMs(60_000))).toEqual(claimed);
    });

    it('hands out a different token for every claim: other keys, a claim after release, a takeover', async () => {
      const tokens = [await claim('r:a', inMs(1_000)), await claim('r:b', inMs(1_000))];
      await store.idempotency.release('r:a', tokens[0]!);
      tokens.push(await claim('r:a', inMs(1_000)));
      clock.advance(1_000);
      tokens.push(await claim('r:b', inMs(1_000)));

      expect(new Set(tokens).size).toBe(4);
    });

    it('lets exactly one of many simultaneous callers claim a key', async () => {
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.idempotency.begin('r:k', inMs(60_000))));

      expect(outcomes.filter((o) => o.state === 'claimed')).toHaveLength(1);
      expect(outcomes.filter((o) => o.state === 'in-progress')).toHaveLength(7);
    });

    it('takes over a claim once the clock reaches its expiry, and not a moment before', async () => {
      await claim('r:k', inMs(30_000));

      clock.advance(29_999);
      expect(await store.idempotency.begin('r:k', inMs(30_000))).toEqual({ state: 'in-progress' });
      clock.advance(1);
      expect(await store.idempotency.begin('r:k', inMs(30_000))).toEqual(claimed);
      // The takeover is itself a fresh claim with the new expiry.
      clock.advance(29_999);
      expect(await store.idempotency.begin('r:k', inMs(30_000))).toEqual({ state: 'in-progress' });
    });

    it('reports a completed key with its result id, even long after the claim would have expired', async () => {
      const token = await claim('r:k', inMs(1_000));
      await store.idempotency.complete('r:k', token, 'result-42');

      clock.advance(86_400_000);
      expect(await store.idempotency.begin('r:k', inMs(1_000))).toEqual({ state: 'completed', resultId: 'result-42' });
    });

    it('release drops the in-progress claim its owner holds, so a retry can claim it again', async () => {
      const token = await claim('r:k', inMs(60_000));

      await store.idempotency.release('r:k', token);

      expect(await store.idempotency.peek('r:k')).toBeUndefined();
      expect(await store.idempotency.begin('r:k', inMs(60_000))).toEqual(claimed);
    });

    it('peek reports without claiming: nothing, in progress until expiry, then completed with its result', async () => {
      expect(await store.idempotency.peek('r:k')).toBeUndefined();
      await claim('r:k', inMs(1_000));
      expect(await store.idempotency.peek('r:k')).toEqual({ state: 'in-progress' });
      clock.advance(1_000);
      expect(await store.idempotency.peek('r:k')).toBeUndefined();
      const token = await claim('r:k', inMs(1_000));
      await store.idempotency.complete('r:k', token, 'result-1');
      expect(await store.idempotency.peek('r:k')).toEqual({ state: 'completed', resultId: 'result-1' });
    });

    it('release leaves a completed key completed, and is a no-op for unknown keys and a second release', async () => {
      const token = await claim('r:k', inMs(60_000));
      await store.idempotency.complete('r:k', token, 'result-1');
      const other = await claim('r:other', inMs(60_000));
      await store.idempotency.release('r:other', other);

      await store.idempotency.release('r:k', token);
      await store.idempotency.release('r:k', 'someone-else');
      await store.idempotency.release('r:never-seen', 'any-token');
      await store.idempotency.release('r:other', other);

      expect(await store.idempotency.begin('r:k', inMs(60_000))).toEqual({ state: 'completed', resultId: 'result-1' });
    });

    it('completing twice with the same result id is a no-op; another result id is refused with ClaimLostError', async () => {
      const token = await claim('r:k', inMs(60_000));

      await store.idempotency.complete('r:k', token, 'result-1');
      await store.idempotency.complete('r:k', token, 'result-1');

      await expect(store.idempotency.complete('r:k', token, 'result-2')).rejects.toBeInstanceOf(ClaimLostError);
      expect(await store.idempotency.peek('r:k')).toEqual({ state: 'completed', resultId: 'result-1' });
    });

    it('refuses to complete a key nobody claimed, or with a token that does not hold the claim', async () => {
      await expect(store.idempotency.complete('r:never-claimed', 'any-token', 'result-1')).rejects.toBeInstanceOf(ClaimLostError);
      expect(await store.idempotency.peek('r:never-claimed')).toBeUndefined();
      const token = await claim('r:k', inMs(60_000));

      await expect(store.idempotency.complete('r:k', 'not-the-token', 'result-x')).rejects.toBeInstanceOf(ClaimLostError);

      expect(await store.idempotency.peek('r:k')).toEqual({ state: 'in-progress' });
      await store.idempotency.complete('r:k', token, 'result-1');
      expect(await store.idempotency.peek('r:k')).toEqual({ state: 'completed', resultId: 'result-1' });
    });

    it('after a takeover the stale holder can neither complete, renew nor release, and the new owner keeps its claim', async () => {
      const stale = await claim('r:k', inMs(30_000));
      clock.advance(30_000);
      const owner = await claim('r:k', inMs(30_000));

      const lost = await store.idempotency.complete('r:k', stale, 'result-stale').catch((e: unknown) => e);
      await expect(store.idempotency.renew('r:k', stale, inMs(60_000))).rejects.toBeInstanceOf(ClaimLostError);
      await expect(store.idempotency.release('r:k', stale)).rejects.toBeInstanceOf(ClaimLostError);

      expect(lost).toBeInstanceOf(ClaimLostError);
      expect(lost).toMatchObject({ code: 'ClaimLost', retryable: true });
      expect((lost as Error).message).toContain('r:k');
      expect(await store.idempotency.begin('r:k', inMs(30_000))).toEqual({ state: 'in-progress' });
      await store.idempotency.renew('r:k', owner, inMs(30_000));
      await store.idempotency.complete('r:k', owner, 'result-new');
      expect(await store.idempotency.peek('r:k')).toEqual({ state: 'completed', resultId: 'result-new' });
    });

    it('fenced release: releasing with a token that does not hold the claim throws and leaves the holder\'s claim intact', async () => {
      const owner = await claim('r:k', inMs(60_000));

      await expect(store.idempotency.release('r:k', 'not-the-token')).rejects.toBeInstanceOf(ClaimLostError);

      expect(await store.idempotency.begin('r:k', inMs(60_000))).toEqual({ state: 'in-progress' });
      await store.idempotency.release('r:k', owner);
      expect(await store.idempotency.peek('r:k')).toBeUndefined();
    });

    it('renew extends the lease: a begin just after the old expiry still sees the claim in progress', async () => {
      const token = await claim('r:k', inMs(30_000));
      clock.advance(20_000);

      await store.idempotency.renew('r:k', token, inMs(30_000));

      clock.advance(10_001);
      expect(await store.idempotency.begin('r:k', inMs(30_000))).toEqual({ state: 'in-progress' });
      expect(await store.idempotency.peek('r:k')).toEqual({ state: 'in-progress' });
      clock.advance(19_999);
      expect(await store.idempotency.begin('r:k', inMs(30_000))).toEqual(claimed);
    });

    it('the owner may still renew and complete a lease that ran out as long as nobody took it over', async () => {
      const token = await claim('r:k', inMs(1_000));
      clock.advance(5_000);

      await store.idempotency.renew('r:k', token, inMs(30_000));

      expect(await store.idempotency.begin('r:k', inMs(30_000))).toEqual({ state: 'in-progress' });
      await store.idempotency.complete('r:k', token, 'result-late');
      expect(await store.idempotency.peek('r:k')).toEqual({ state: 'completed', resultId: 'result-late' });
    });

    it('refuses to renew a key that is completed, released or was never claimed', async () => {
      const done = await claim('r:done', inMs(60_000));
      await store.idempotency.complete('r:done', done, 'result-1');
      const dropped = await claim('r:dropped', inMs(60_000));
      await store.idempotency.release('r:dropped', dropped);

      await expect(store.idempotency.renew('r:done', done, inMs(60_000))).rejects.toBeInstanceOf(ClaimLostError);
      await expect(store.idempotency.renew('r:dropped', dropped, inMs(60_000))).rejects.toBeInstanceOf(ClaimLostError);
      await expect(store.idempotency.renew('r:never', 'any-token', inMs(60_000))).rejects.toBeInstanceOf(ClaimLostError);

      expect(await store.idempotency.peek('r:done')).toEqual({ state: 'completed', resultId: 'result-1' });
      expect(await store.idempotency.peek('r:dropped')).toBeUndefined();
      expect(await store.idempotency.peek('r:never')).toBeUndefined();
    });
  });

  describe.runIf(adapter.keepsLedger)('failure ledger', () => {
    it('gives back a recorded failure exactly, and undefined for an unknown id', async () => {
      const record = failure();

      await store.failures.recordFailure(record);

      const got = await store.failures.getFailure('f-1');
      expect(got).toEqual(record);
      expect(JSON.stringify(got?.envelope)).toBe(JSON.stringify(record.envelope));
      expect(JSON.stringify(got?.placement)).toBe(JSON.stringify(record.placement));
      expect(await store.failures.getFailure('f-unknown')).toBeUndefined();
    });

    it('leaves out routeId and placement when the record had none', async () => {
      const { routeId: _r, placement: _p, ...bare } = failure();

      await store.failures.recordFailure(bare);

      const got = await store.failures.getFailure('f-1');
      expect(got).not.toHaveProperty('routeId');
      expect(got).not.toHaveProperty('placement');
      expect(got).toEqual(bare);
    });

    it('a second failure of the same id keeps the original event, takes the latest error, reopens and counts', async () => {
      await store.failures.recordFailure(failure());
      await store.failures.resolveFailure('f-1');
      const later = failure({
        at: '2026-11-22T09:00:00.000Z',
        errorCode: 'ModelOutputInvalid',
        message: 'not JSON',
        retryable: false,
        attempts: [],
        placement: undefined,
        envelope: { ...envelope(), origin: { transport: 'eventbridge', deliveryCount: 3 } },
      });

      await store.failures.recordFailure(later);

      const got = await store.failures.getFailure('f-1');
      expect(got).toMatchObject({ at: later.at, errorCode: 'ModelOutputInvalid', message: 'not JSON', retryable: false, attempts: [], status: 'open', failures: 2 });
      expect(got).not.toHaveProperty('placement');
      expect(got?.envelope).toEqual(envelope());
      await store.failures.recordFailure(later);
      expect((await store.failures.getFailure('f-1'))?.failures).toBe(3);
    });

    it('resolves a failure and keeps it; resolving an unknown id does nothing', async () => {
      await store.failures.recordFailure(failure());

      await store.failures.resolveFailure('f-1');
      await store.failures.resolveFailure('f-unknown');

      expect(await store.failures.getFailure('f-1')).toEqual({ ...failure(), status: 'resolved' });
      expect(await store.failures.getFailure('f-unknown')).toBeUndefined();
    });

    it('keeps every replay of a failure in order, returned by getFailure but not by listFailures', async () => {
      await store.failures.recordFailure(failure());
      const first = { at: '2026-11-22T09:00:00.000Z', actor: 'ana', outcome: 'failed-again' as const, detail: 'ModelThrottled: slow down' };
      const second = { at: '2026-11-22T09:05:00.000Z', actor: 'ben', outcome: 'succeeded' as const, detail: 'result-9', options: { model: 'sim-a' } };

      await store.failures.recordReplay('f-1', first);
      await store.failures.recordReplay('f-1', second);
      await store.failures.recordReplay('f-unknown', first);

      expect((await store.failures.getFailure('f-1'))?.replays).toEqual([first, second]);
      expect((await store.failures.listFailures())[0]).not.toHaveProperty('replays');
      expect(await store.failures.getFailure('f-unknown')).toBeUndefined();
    });

    it('lists newest first, equal instants by id descending, up to the limit', async () => {
      await store.failures.recordFailure(failure({ id: 'f-a', at: '2026-11-22T08:00:01.000Z' }));
      await store.failures.recordFailure(failure({ id: 'f-c', at: '2026-11-22T08:00:03.000Z' }));
      await store.failures.recordFailure(failure({ id: 'f-b1', at: '2026-11-22T08:00:02.000Z' }));
      await store.failures.recordFailure(failure({ id: 'f-b2', at: '2026-11-22T08:00:02.000Z' }));

      const ids = async (limit?: number) => (await store.failures.listFailures(limit === undefined ? {} : { limit })).map((f) => f.id);

      expect(await ids()).toEqual(['f-c', 'f-b2', 'f-b1', 'f-a']);
      expect(await ids(2)).toEqual(['f-c', 'f-b2']);
      expect(await ids(0)).toEqual([]);
    });

    it('orders by instant, not by how the time was written', async () => {
      await store.failures.recordFailure(failure({ id: 'f-utc', at: '2026-11-22T08:30:00Z' }));
      await store.failures.recordFailure(failure({ id: 'f-offset', at: '2026-11-22T09:00:00.000+01:00' }));

      const got = await store.failures.listFailures();

      expect(got.map((f) => [f.id, f.at])).toEqual([
        ['f-utc', '2026-11-22T08:30:00Z'],
        ['f-offset', '2026-11-22T09:00:00.000+01:00'],
      ]);
    });

    it('filters by route, error code and status together', async () => {
      await store.failures.recordFailure(failure({ id: 'f-1', routeId: 'r1', errorCode: 'ModelThrottled' }));
      await store.failures.recordFailure(failure({ id: 'f-2', routeId: 'r1', errorCode: 'PolicyViolation' }));
      await store.failures.recordFailure(failure({ id: 'f-3', routeId: 'r2', errorCode: 'ModelThrottled' }));
      await store.failures.recordFailure(failure({ id: 'f-4', routeId: 'r1', errorCode: 'ModelThrottled' }));
      await store.failures.resolveFailure('f-4');

      const ids = async (filter: Parameters<Store['failures']['listFailures']>[0]) => (await store.failures.listFailures(filter)).map((f) => f.id).sort();

      expect(await ids({ routeId: 'r1' })).toEqual(['f-1', 'f-2', 'f-4']);
      expect(await ids({ errorCode: 'ModelThrottled' })).toEqual(['f-1', 'f-3', 'f-4']);
      expect(await ids({ status: 'resolved' })).toEqual(['f-4']);
      expect(await ids({ routeId: 'r1', errorCode: 'ModelThrottled', status: 'open' })).toEqual(['f-1']);
      expect(await ids({ routeId: 'nope' })).toEqual([]);
    });

    it('filters by time with since and until both inclusive', async () => {
      for (const [id, at] of [['f-7', '07'], ['f-8', '08'], ['f-9', '09'], ['f-10', '10']] as const) {
        await store.failures.recordFailure(failure({ id, at: `2026-11-22T${at}:00:00.000Z` }));
      }

      const got = await store.failures.listFailures({ since: '2026-11-22T08:00:00.000Z', until: '2026-11-22T09:00:00Z' });

      expect(got.map((f) => f.id)).toEqual(['f-9', 'f-8']);
    });

    it('refuses a time that is not an ISO instant and a negative limit, saying which', async () => {
      await expect(store.failures.recordFailure(failure({ at: 'yesterday' }))).rejects.toThrow(/at must be an ISO 8601 instant/);
      await expect(store.failures.listFailures({ since: 'soon' })).rejects.toThrow(/since must be/);
      await expect(store.failures.listFailures({ limit: -1 })).rejects.toThrow(/limit must be/);
    });

    it('hands out copies: changing a returned record does not change the ledger', async () => {
      await store.failures.recordFailure(failure());
      const got = (await store.failures.getFailure('f-1'))!;

      got.status = 'resolved';
      got.attempts.push(got.attempts[0]!);

      expect(await store.failures.getFailure('f-1')).toEqual(failure());
    });
  });

  describe.runIf(adapter.keepsLedger)('event log', () => {
    it('numbers entries from 1 in append order, ignoring any seq the caller sent', async () => {
      await store.events.append(entry({ eventId: 'a', seq: 99 }));
      await store.events.append(entry({ eventId: 'b' }));
      await store.events.append(entry({ eventId: 'c' }));

      const got = await store.events.listEvents();

      expect(got.map((e) => [e.seq, e.eventId])).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
    });

    it('gives back entries exactly, without routeId or destination when they had none', async () => {
      const input = entry();
      const result = entry({ kind: 'result', eventId: 'r-1', routeId: 'score-order', destination: 'orders-bus', envelope: envelope('r-1') });
      await store.events.append(input);
      await store.events.append(result);

      const [gotInput, gotResult] = await store.events.listEvents();

      expect(gotInput).toEqual({ ...input, seq: 1 });
      expect(gotInput).not.toHaveProperty('routeId');
      expect(gotInput).not.toHaveProperty('destination');
      expect(gotResult).toEqual({ ...result, seq: 2 });
      expect(JSON.stringify(gotResult?.envelope)).toBe(JSON.stringify(result.envelope));
    });

    it('filters by kind and route', async () => {
      await store.events.append(entry({ eventId: 'in-1' }));
      await store.events.append(entry({ kind: 'result', eventId: 'out-1', routeId: 'r1' }));
      await store.events.append(entry({ kind: 'result', eventId: 'out-2', routeId: 'r2' }));

      const ids = async (filter: Parameters<Store['events']['listEvents']>[0]) => (await store.events.listEvents(filter)).map((e) => e.eventId);

      expect(await ids({ kind: 'input' })).toEqual(['in-1']);
      expect(await ids({ kind: 'result' })).toEqual(['out-1', 'out-2']);
      expect(await ids({ routeId: 'r2' })).toEqual(['out-2']);
      expect(await ids({ kind: 'input', routeId: 'r1' })).toEqual([]);
    });

    it('pages forward: limit takes the first entries after afterSeq', async () => {
      for (const id of ['a', 'b', 'c', 'd', 'e']) await store.events.append(entry({ eventId: id }));

      const page = async (afterSeq: number) => (await store.events.listEvents({ afterSeq, limit: 2 })).map((e) => e.eventId);

      expect(await page(0)).toEqual(['a', 'b']);
      expect(await page(2)).toEqual(['c', 'd']);
      expect(await page(4)).toEqual(['e']);
      expect(await page(5)).toEqual([]);
      await expect(store.events.listEvents({ limit: 1.5 })).rejects.toThrow(/limit must be/);
    });
  });

  it('close can be called more than once', async () => {
    await store.close();
    await expect(store.close()).resolves.toBeUndefined();
  });
});
