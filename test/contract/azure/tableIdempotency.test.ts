import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClaimLostError } from '../../../shared/core/index.ts';
import { TableIdempotencyStore, TableStoreError, createTableStore, tableClientFromEnv } from '../../../shared/store/tables/index.ts';
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
  const clientFor = (name: string, connectionString = fake.connectionString) =>
    TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
  beforeEach(() => {
    clock = new FakeClock();
    store = new TableIdempotencyStore({ client: clientFor(`idem${++table}`), clock });
  });
  const inMinutes = (m: number) => new Date(clock.now().getTime() + m * 60_000);
  const claim = async (key: string, expiresAt: Date, on = store) => {
    const got = await on.begin(key, expiresAt);
    if (got.state !== 'claimed') throw new Error(`expected to claim ${key}, got ${got.state}`);
    return got.token;
  };

  it('claims a key once; a second claim while it is held is in-progress', async () => {
    expect(await store.begin('ticket-triage:TCK-1', inMinutes(1))).toEqual({ state: 'claimed', token: expect.any(String) });
    expect(await store.begin('ticket-triage:TCK-1', inMinutes(1))).toEqual({ state: 'in-progress' });
    expect(await store.peek('ticket-triage:TCK-1')).toEqual({ state: 'in-progress' });
  });

  it('keys like the Lambda edge: the route as partition, the event id as row, encoded so any id is legal; the owner is in the entity', async () => {
    const token = await claim('ticket-triage:orders/2026#1?x', inMinutes(1));

    expect(fake.entities(`idem${table}`)).toMatchObject([{ PartitionKey: 'ticket-triage', RowKey: 'orders%2F2026%231%3Fx', status: 'in-progress', owner: token }]);
  });

  it('answers completed with the result id after complete, for every later delivery', async () => {
    await store.complete('r:e', await claim('r:e', inMinutes(1)), 'res-9');
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
    await store.release('r:rel', await claim('r:rel', inMinutes(1)));
    expect(await store.peek('r:rel')).toBeUndefined();
    const token = await claim('r:rel', inMinutes(1));

    await store.complete('r:rel', token, 'res-1');
    await store.release('r:rel', token);
    expect(await store.peek('r:rel')).toEqual({ state: 'completed', resultId: 'res-1' });
  });

  it('turns a storage outage into a retryable IdempotencyStoreUnavailable naming the key', async () => {
    await store.peek('r:warm');
    fake.failNext(1, 503);

    const err = await store.begin('r:down', inMinutes(1)).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'IdempotencyStoreUnavailable', retryable: true });
    expect((err as Error).message).toContain('r:down');
  });

  it('makes complete, renew and release conditional on the ETag read with the owner, so a stale holder writes nothing', async () => {
    const stale = await claim('r:fenced', inMinutes(1));
    clock.advance(2 * 60_000);
    const owner = await claim('r:fenced', inMinutes(1));
    const writesBefore = fake.requests.filter((r) => r.method === 'PUT' || r.method === 'DELETE').length;

    await expect(store.complete('r:fenced', stale, 'res-stale')).rejects.toBeInstanceOf(ClaimLostError);
    await expect(store.release('r:fenced', stale)).rejects.toBeInstanceOf(ClaimLostError);

    expect(fake.requests.filter((r) => r.method === 'PUT' || r.method === 'DELETE')).toHaveLength(writesBefore);
    await store.renew('r:fenced', owner, inMinutes(5));
    await store.complete('r:fenced', owner, 'res-1');
    const writes = fake.requests.filter((r) => r.method === 'PUT').slice(-2);
    expect(writes.every((r) => r.ifMatch?.startsWith('W/'))).toBe(true);
    expect(fake.entities(`idem${table}`)).toMatchObject([{ status: 'completed', owner, resultId: 'res-1' }]);
  });

  it('re-reads and refuses when the claim was taken over between its read and its write (412 on the ETag)', async () => {
    const name = `idem${table}`;
    const staleClient = clientFor(name);
    const other = new TableIdempotencyStore({ client: clientFor(name), clock });
    const staleStore = new TableIdempotencyStore({ client: staleClient, clock });
    const stale = await claim('r:race', inMinutes(1), staleStore);
    clock.advance(2 * 60_000);
    let owner = '';
    // The stale holder has read its (expired, still its own) claim; the takeover lands before its write.
    const write = staleClient.updateEntity.bind(staleClient);
    staleClient.updateEntity = (async (...args: Parameters<typeof write>) => {
      if (!owner) owner = await claim('r:race', inMinutes(1), other);
      return write(...args);
    }) as typeof write;

    await expect(staleStore.complete('r:race', stale, 'res-stale')).rejects.toBeInstanceOf(ClaimLostError);

    expect(fake.requests.some((r) => r.method === 'PUT' && r.path.includes("RowKey='race'") && r.ifMatch?.startsWith('W/'))).toBe(true);
    expect(await other.peek('r:race')).toEqual({ state: 'in-progress' });
    await other.complete('r:race', owner, 'res-1');
    expect(await other.peek('r:race')).toEqual({ state: 'completed', resultId: 'res-1' });
  });

  describe('the table and the account', () => {
    it('creates the table on first use by default, and a second store on the same table is fine (409 TableAlreadyExists)', async () => {
      const name = `fresh${++table}`;
      const first = createTableStore({ client: clientFor(name), clock }).idempotency;
      const second = new TableIdempotencyStore({ client: clientFor(name), clock });

      expect(await first.begin('r:e', inMinutes(1))).toMatchObject({ state: 'claimed' });
      expect(await second.begin('r:e', inMinutes(1))).toEqual({ state: 'in-progress' });
      expect(fake.requests.filter((r) => r.method === 'POST' && r.path === 'Tables' && r.body?.TableName === name)).toHaveLength(2);
    });

    it('with ensureTable off, a missing table is a retryable TableStoreError that says to create it', async () => {
      const name = `missing${++table}`;
      const off = new TableIdempotencyStore({ client: clientFor(name), clock, ensureTable: false });

      const err = await off.begin('r:e', inMinutes(1)).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(TableStoreError);
      expect(err).toMatchObject({ code: 'IdempotencyStoreUnavailable', retryable: true, context: { table: name, account: 'devstoreaccount1', errorCode: 'TableNotFound' } });
      expect((err as Error).message).toMatch(new RegExp(`table ${name} does not exist in account devstoreaccount1: create it`));
    });

    it('creates the table again when it disappears after first use (the failing call is retryable)', async () => {
      await claim('r:before', inMinutes(1));
      fake.dropTable(`idem${table}`);

      const err = await store.begin('r:after', inMinutes(1)).catch((e: unknown) => e);

      expect(err).toMatchObject({ code: 'IdempotencyStoreUnavailable', retryable: true });
      expect((err as Error).message).toContain('does not exist');
      expect(await store.begin('r:after', inMinutes(1))).toMatchObject({ state: 'claimed' });
    });

    it('turns 403 into a retryable TableStoreError that names the role to grant and the account', async () => {
      fake.failNext(1, 403);

      const err = await store.begin('r:e', inMinutes(1)).catch((e: unknown) => e);

      expect(err).toMatchObject({ code: 'IdempotencyStoreUnavailable', retryable: true, context: { status: 403 } });
      expect((err as Error).message).toContain("grant the function's identity the Storage Table Data Contributor role on account devstoreaccount1");
    });

    it('turns an unreachable account into a retryable TableStoreError that says to check AzureWebJobsStorage', async () => {
      const closed = await startTableStorageFake();
      await closed.close();
      const away = new TableIdempotencyStore({ client: clientFor('idem', closed.connectionString), clock });

      const err = await away.begin('r:e', inMinutes(1)).catch((e: unknown) => e);

      expect(err).toMatchObject({ code: 'IdempotencyStoreUnavailable', retryable: true });
      expect((err as Error).message).toContain('could not be reached');
      expect((err as Error).message).toContain('check AzureWebJobsStorage');
    });

    it('refuses an unusable AzureWebJobsStorage with a TableStoreError naming the setting, without echoing the key', async () => {
      const err = await tableClientFromEnv({ AzureWebJobsStorage: 'AccountName=x;AccountKey=s3cr3t-key' }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(TableStoreError);
      expect((err as Error).message).toContain('check the app setting AzureWebJobsStorage');
      expect((err as Error).message).not.toContain('s3cr3t-key');
    });
  });

  describe('purgeExpired (Table Storage has no TTL)', () => {
    it('keeps a completed claim 24 hours, like the DynamoDB TTL on AWS, then deletes it so the table does not grow forever', async () => {
      await store.complete('r:done', await claim('r:done', inMinutes(1)), 'res-1');

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
