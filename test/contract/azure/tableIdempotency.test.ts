import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TableIdempotencyStore } from '../../../shared/store/tables/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { startTableStorageFake, type TableStorageFake } from '../../fakes/tableStorageFake.ts';

// The real @azure/data-tables client, over HTTP, against a fake of the Table REST API.
describe('TableIdempotencyStore through @azure/data-tables', () => {
  let fake: TableStorageFake;
  let clock: FakeClock;
  let store: TableIdempotencyStore;
  let table = 0;

  beforeAll(async () => {
    fake = await startTableStorageFake();
  });
  afterAll(async () => fake.close());
  beforeEach(() => {
    clock = new FakeClock();
    const client = TableClient.fromConnectionString(fake.connectionString, `idem${++table}`, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
    store = new TableIdempotencyStore({ client, clock, ensureTable: true });
  });
  const inMinutes = (m: number) => new Date(clock.now().getTime() + m * 60_000);

  it('claims a key once; a second claim while it is held is in-progress', async () => {
    expect(await store.begin('ticket-triage:TCK-1', inMinutes(1))).toEqual({ state: 'claimed' });
    expect(await store.begin('ticket-triage:TCK-1', inMinutes(1))).toEqual({ state: 'in-progress' });
    expect(await store.peek('ticket-triage:TCK-1')).toEqual({ state: 'in-progress' });
  });

  it('keys like the Lambda edge: the route as partition, the event id as row, encoded so any id is legal', async () => {
    await store.begin('ticket-triage:orders/2026#1?x', inMinutes(1));

    expect(fake.entities(`idem${table}`)).toMatchObject([{ PartitionKey: 'ticket-triage', RowKey: 'orders%2F2026%231%3Fx', status: 'in-progress' }]);
  });

  it('answers completed with the result id after complete, for every later delivery', async () => {
    await store.begin('r:e', inMinutes(1));
    await store.complete('r:e', 'res-9');
    clock.advance(60 * 60_000);

    expect(await store.begin('r:e', inMinutes(1))).toEqual({ state: 'completed', resultId: 'res-9' });
    expect(await store.peek('r:e')).toEqual({ state: 'completed', resultId: 'res-9' });
  });

  it('lets a claim that expired be taken over, and only by one of two takers', async () => {
    await store.begin('r:stale', inMinutes(1));
    clock.advance(2 * 60_000);

    const [a, b] = await Promise.all([store.begin('r:stale', inMinutes(1)), store.begin('r:stale', inMinutes(1))]);

    expect([a, b].map((x) => x.state).sort()).toEqual(['claimed', 'in-progress']);
    expect(fake.requests.some((r) => r.method === 'PUT' && r.ifMatch?.startsWith('W/'))).toBe(true);
  });

  it('drops an in-progress claim on release, so a retry can claim again; a completed one stays', async () => {
    await store.begin('r:rel', inMinutes(1));
    await store.release('r:rel');
    expect(await store.peek('r:rel')).toBeUndefined();
    expect(await store.begin('r:rel', inMinutes(1))).toEqual({ state: 'claimed' });

    await store.complete('r:rel', 'res-1');
    await store.release('r:rel');
    expect(await store.peek('r:rel')).toEqual({ state: 'completed', resultId: 'res-1' });
  });

  it('turns a storage outage into a retryable IdempotencyStoreUnavailable naming the key', async () => {
    await store.peek('r:warm');
    fake.failNext(1, 503);

    const err = await store.begin('r:down', inMinutes(1)).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'IdempotencyStoreUnavailable', retryable: true });
    expect((err as Error).message).toContain('r:down');
  });

  describe('purgeExpired (Table Storage has no TTL)', () => {
    it('keeps a completed claim 24 hours, like the DynamoDB TTL on AWS, then deletes it so the table does not grow forever', async () => {
      await store.begin('r:done', inMinutes(1));
      await store.complete('r:done', 'res-1');

      clock.advance(23 * 60 * 60_000);
      expect(await store.purgeExpired()).toEqual({ deleted: 0, skipped: 0 });
      expect(await store.peek('r:done')).toEqual({ state: 'completed', resultId: 'res-1' });

      clock.advance(2 * 60 * 60_000);
      expect(await store.purgeExpired()).toEqual({ deleted: 1, skipped: 0 });
      expect(fake.entities(`idem${table}`)).toEqual([]);
    });

    it('deletes in-progress claims nobody came back for, and leaves live ones', async () => {
      await store.begin('r:abandoned', inMinutes(1));
      clock.advance(2 * 60_000);
      await store.begin('r:live', inMinutes(10));

      expect(await store.purgeExpired()).toEqual({ deleted: 1, skipped: 0 });
      expect(fake.entities(`idem${table}`).map((e) => e.RowKey)).toEqual(['live']);
    });

    it('goes through every page of the query, reporting progress per page', async () => {
      for (let i = 0; i < 5; i++) await store.begin(`r:old-${i}`, inMinutes(1));
      clock.advance(5 * 60_000);
      const progress: number[] = [];

      const report = await store.purgeExpired(undefined, (r) => progress.push(r.deleted));

      expect(report).toEqual({ deleted: 5, skipped: 0 });
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.at(-1)).toBe(5);
      expect(fake.requests.some((r) => r.method === 'GET' && r.path.endsWith('()'))).toBe(true);
    });
  });
});
