import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { counterWindow, StoreUnavailableError } from '../../../shared/core/index.ts';
import { TableCounters, TableIdempotencyStore, createTableStore } from '../../../shared/store/tables/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { startTableStorageFake, type TableStorageFake } from '../../fakes/tableStorageFake.ts';

// What the contract suite does not look at: the entities, the If-Match writes, lost races, purge and failures.
describe('TableCounters through @azure/data-tables', () => {
  let fake: TableStorageFake;
  let tableName: string;
  let table = 0;
  const w = counterWindow('minute', Date.parse('2026-11-22T08:00:30.000Z'));

  beforeAll(async () => {
    fake = await startTableStorageFake();
  });
  afterAll(async () => fake.close());
  beforeEach(() => {
    tableName = `counters${++table}`;
  });
  const clientFor = (name = tableName) => TableClient.fromConnectionString(fake.connectionString, name, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
  const noWait = async () => {};

  it('keeps a counter as an entity of the idempotency table, apart from the claims, expiring when its window ends', async () => {
    const store = createTableStore({ client: clientFor(), clock: new FakeClock() });
    await store.idempotency.begin('order-risk:evt-1', new Date(Date.parse('2026-11-22T09:00:00.000Z')));

    await store.counters!.reserve('limit:aoai/swc:rpm', w, 2, 60);
    await store.counters!.reserve('limit:aoai/swc:rpm', w, 1, 60);

    const entity = fake.entities(tableName).find((e) => String(e.PartitionKey).startsWith('counter:'));
    expect(entity).toMatchObject({ PartitionKey: 'counter:limit%3Aaoai%2Fswc%3Arpm', RowKey: `${w.startMs}+60000`, used: 3, 'used@odata.type': 'Edm.Double', expiresAt: '2026-11-22T08:01:00.000Z' });
    // Insert first (no If-Match), then a replace conditional on the ETag that was read.
    const writes = fake.requests.filter((r) => r.path.startsWith(`${tableName}`) && r.body?.PartitionKey === entity!.PartitionKey && r.method !== 'GET');
    expect(writes.map((r) => [r.method, r.ifMatch !== undefined && r.ifMatch !== '*'])).toEqual([
      ['POST', false],
      ['PUT', true],
    ]);
  });

  it('a write that lost the race reads again: another instance took the last unit meanwhile, so this reserve is refused', async () => {
    const other = new TableCounters({ client: clientFor(), sleep: noWait });
    let interfered = false;
    const client = clientFor();
    const racing = new Proxy(client, {
      get(target, name) {
        const value = Reflect.get(target, name, target) as unknown;
        if ((name !== 'createEntity' && name !== 'updateEntity') || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          if (!interfered) {
            interfered = true;
            // Between this instance's read and its write, the other one takes the window's last unit.
            await other.reserve('limit:ep:rpm', w, 1, 1);
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const counters = new TableCounters({ client: racing, sleep: noWait });

    expect(await counters.reserve('limit:ep:rpm', w, 1, 1)).toEqual({ ok: false, used: 1 });

    expect(await counters.read('limit:ep:rpm', w)).toBe(1);
  });

  it('gives up with a retryable StoreUnavailableError when other instances win every attempt, counting nothing of its own', async () => {
    const other = new TableCounters({ client: clientFor(), sleep: noWait });
    const client = clientFor();
    const sleeps: number[] = [];
    const racing = new Proxy(client, {
      get(target, name) {
        const value = Reflect.get(target, name, target) as unknown;
        if ((name !== 'createEntity' && name !== 'updateEntity') || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          await other.adjust('budget:r:tokens', w, 1);
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const counters = new TableCounters({ client: racing, maxAttempts: 3, sleep: async (ms) => void sleeps.push(ms) });

    const err = await counters.adjust('budget:r:tokens', w, 100).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ retryable: true, context: { counter: 'budget:r:tokens', table: tableName } });
    expect((err as Error).message).toContain('gave up after 3 attempts');
    expect(sleeps).toHaveLength(2);
    expect(await other.read('budget:r:tokens', w)).toBe(3);
  });

  it('turns service trouble into a retryable StoreUnavailableError saying what to fix, without the SDK error', async () => {
    const counters = new TableCounters({ client: clientFor(), sleep: noWait });
    await counters.read('k', w);
    fake.failNext(1, 403);

    const err = await counters.reserve('limit:ep:rpm', w, 1, 5).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ code: 'StoreUnavailable', retryable: true, context: { counter: 'limit:ep:rpm', status: 403, errorCode: 'AuthorizationPermissionMismatch' } });
    expect((err as Error).message).toContain('Storage Table Data Contributor');
    expect((err as Error).cause).toBeUndefined();
  });

  it('the claims purge deletes counters of ended windows and leaves the current ones', async () => {
    const clock = new FakeClock('2026-11-22T08:01:30.000Z');
    const counters = new TableCounters({ client: clientFor(), sleep: noWait });
    const current = counterWindow('minute', clock.now().getTime());
    await counters.adjust('limit:ep:rpm', w, 4);
    await counters.adjust('limit:ep:rpm', current, 2);

    const report = await new TableIdempotencyStore({ client: clientFor(), clock }).purgeExpired();

    expect(report).toEqual({ deleted: 1, skipped: 0 });
    expect(await counters.read('limit:ep:rpm', w)).toBe(0);
    expect(await counters.read('limit:ep:rpm', current)).toBe(2);
  });
});
