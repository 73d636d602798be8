import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TableClient } from '@azure/data-tables';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { counterWindow, type UsageCounters } from '../../../shared/core/index.ts';
import { createDynamoDbStore } from '../../../shared/store/dynamodb/index.ts';
import { createMemoryStore, openLocalStore } from '../../../shared/store/index.ts';
import { createTableStore } from '../../../shared/store/tables/index.ts';
import { startDynamoDbFake, type DynamoDbFake } from '../../fakes/dynamoDbFake.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { startTableStorageFake, type TableStorageFake } from '../../fakes/tableStorageFake.ts';

/**
 * One adapter of the usage counters. `instance()` is another instance of the edge on the same
 * counters with its own client (DynamoDB, Table Storage).
 * The in-memory counters exist in one process only, and the embedded store is held by one
 * process: there it is the same adapter.
 */
interface CountersAdapter {
  name: string;
  setup(): Promise<() => Promise<void>>;
  open(clock: FakeClock): Promise<{ counters: UsageCounters; instance(): Promise<UsageCounters>; cleanup(): Promise<void> }>;
}

const memory: CountersAdapter = {
  name: 'memory',
  setup: async () => async () => {},
  async open(clock) {
    const counters = createMemoryStore({ clock }).counters;
    return { counters, instance: async () => counters, cleanup: async () => {} };
  },
};

/**
 * The embedded store as `mesh dev` opens it. One process holds a store (its lock keeps a
 * second one out), so there is one instance: the concurrent test is callers in flight at
 * once, whose statements group commit batches into shared transactions.
 */
function embedded(): CountersAdapter {
  return {
    name: 'embedded (SQLite)',
    setup: async () => async () => {},
    async open(clock) {
      const dir = await mkdtemp(join(tmpdir(), 'nearmesh-counters-'));
      const store = await openLocalStore({ dir, clock });
      return {
        counters: store.counters,
        instance: async () => store.counters,
        cleanup: async () => {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** The Lambda edge's store with its counters table, on the real DynamoDBClient against the wire fake. */
function dynamoDb(): CountersAdapter {
  let fake: DynamoDbFake | undefined;
  let tables = 0;
  return {
    name: 'DynamoDB',
    async setup() {
      fake = await startDynamoDbFake();
      return () => fake!.close();
    },
    async open(clock) {
      const n = ++tables;
      fake!.createTable(`idempotency-${n}`);
      fake!.createTable(`counters-${n}`);
      const clients: DynamoDBClient[] = [];
      const instance = async () => {
        const client = new DynamoDBClient({ endpoint: fake!.url, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
        clients.push(client);
        return createDynamoDbStore({ tableName: `idempotency-${n}`, countersTable: `counters-${n}`, client, clock }).counters!;
      };
      return {
        counters: await instance(),
        instance,
        cleanup: async () => {
          for (const c of clients) c.destroy();
        },
      };
    },
  };
}

/** The Azure edge's store (counters in the idempotency table) on the real @azure/data-tables client against the REST fake. */
function tableStorage(): CountersAdapter {
  let fake: TableStorageFake | undefined;
  let tables = 0;
  return {
    name: 'Table Storage',
    async setup() {
      fake = await startTableStorageFake();
      return () => fake!.close();
    },
    async open(clock) {
      const table = `counters${++tables}`;
      const instance = async () => {
        const client = TableClient.fromConnectionString(fake!.connectionString, table, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
        return createTableStore({ client, clock }).counters!;
      };
      return { counters: await instance(), instance, cleanup: async () => {} };
    },
  };
}

describe.each<CountersAdapter>([memory, embedded(), dynamoDb(), tableStorage()])('UsageCounters contract: $name', (adapter) => {
  let clock: FakeClock;
  let counters: UsageCounters;
  let instance: () => Promise<UsageCounters>;
  let cleanup: () => Promise<void>;
  let teardown: () => Promise<void>;

  beforeAll(async () => {
    teardown = await adapter.setup();
  });
  afterAll(() => teardown());
  beforeEach(async () => {
    clock = new FakeClock('2026-11-22T08:00:30.000Z');
    ({ counters, instance, cleanup } = await adapter.open(clock));
  });
  afterEach(() => cleanup());

  const minute = () => counterWindow('minute', clock.now().getTime());

  it('reserves while the total stays within the limit, up to exactly the limit, and refuses past it without counting', async () => {
    const w = minute();

    expect(await counters.reserve('limit:ep:rpm', w, 3, 10)).toEqual({ ok: true, used: 3 });
    expect(await counters.reserve('limit:ep:rpm', w, 7, 10)).toEqual({ ok: true, used: 10 });
    expect(await counters.reserve('limit:ep:rpm', w, 1, 10)).toEqual({ ok: false, used: 10 });

    expect(await counters.read('limit:ep:rpm', w)).toBe(10);
  });

  it('refuses an amount larger than the whole limit on a fresh counter, leaving it at 0', async () => {
    const w = minute();

    expect(await counters.reserve('budget:r:tokens', w, 11, 10)).toEqual({ ok: false, used: 0 });

    expect(await counters.read('budget:r:tokens', w)).toBe(0);
    expect(await counters.reserve('budget:r:tokens', w, 10, 10)).toEqual({ ok: true, used: 10 });
  });

  it('a refused reserve says how full the counter is, and a smaller one that still fits is taken', async () => {
    const w = minute();
    await counters.reserve('budget:r:tokens', w, 800, 1000);

    expect(await counters.reserve('budget:r:tokens', w, 300, 1000)).toEqual({ ok: false, used: 800 });
    expect(await counters.reserve('budget:r:tokens', w, 200, 1000)).toEqual({ ok: true, used: 1000 });
  });

  it('counts fractional amounts (costs) exactly enough to meet the limit', async () => {
    const w = counterWindow('day', clock.now().getTime());

    expect(await counters.reserve('budget:r:usd', w, 0.25, 1)).toEqual({ ok: true, used: 0.25 });
    expect(await counters.reserve('budget:r:usd', w, 0.75, 1)).toEqual({ ok: true, used: 1 });
    expect(await counters.reserve('budget:r:usd', w, 0.5, 1)).toEqual({ ok: false, used: 1 });
  });

  it('keeps separate counts per key, per window, and for a minute and an hour that start at the same instant', async () => {
    const now = clock.now().getTime();
    const thisMinute = counterWindow('minute', now);
    const nextMinute = counterWindow('minute', now + 60_000);
    const thisHour = counterWindow('hour', now);
    expect(thisHour.startMs).toBe(thisMinute.startMs);

    await counters.reserve('limit:a:rpm', thisMinute, 2, 2);
    expect(await counters.reserve('limit:a:rpm', thisMinute, 1, 2)).toEqual({ ok: false, used: 2 });

    expect(await counters.reserve('limit:b:rpm', thisMinute, 1, 2)).toEqual({ ok: true, used: 1 });
    expect(await counters.reserve('limit:a:rpm', nextMinute, 1, 2)).toEqual({ ok: true, used: 1 });
    expect(await counters.reserve('limit:a:rpm', thisHour, 1, 2)).toEqual({ ok: true, used: 1 });
    expect(await counters.read('limit:a:rpm', thisMinute)).toBe(2);
  });

  it('reads 0 for a counter nothing was counted in', async () => {
    expect(await counters.read('budget:never:tokens', minute())).toBe(0);
  });

  it('adjust adds whatever the limit, gives back with a negative amount, and never goes below 0', async () => {
    const w = minute();
    await counters.reserve('budget:r:tokens', w, 500, 1000);

    expect(await counters.adjust('budget:r:tokens', w, 700)).toBe(1200);
    expect(await counters.reserve('budget:r:tokens', w, 0, 1000)).toEqual({ ok: false, used: 1200 });
    expect(await counters.adjust('budget:r:tokens', w, -300)).toBe(900);
    expect(await counters.adjust('budget:r:tokens', w, -5000)).toBe(0);
    expect(await counters.read('budget:r:tokens', w)).toBe(0);
    expect(await counters.reserve('budget:r:tokens', w, 1000, 1000)).toEqual({ ok: true, used: 1000 });
  });

  it('adjust of a counter nothing was counted in starts from 0, and a negative amount leaves it at 0', async () => {
    const w = minute();

    expect(await counters.adjust('budget:a:tokens', w, -40)).toBe(0);
    expect(await counters.adjust('budget:b:tokens', w, 40)).toBe(40);

    expect(await counters.read('budget:a:tokens', w)).toBe(0);
    expect(await counters.read('budget:b:tokens', w)).toBe(40);
  });

  it('refuses a bad amount, limit, window or key with a RangeError saying which, and counts nothing', async () => {
    const w = minute();

    await expect(counters.reserve('k', w, Number.NaN, 10)).rejects.toThrow(/amount must be a finite number ≥ 0/);
    await expect(counters.reserve('k', w, -1, 10)).rejects.toThrow(RangeError);
    await expect(counters.reserve('k', w, 1, -1)).rejects.toThrow(/limit must be a finite number ≥ 0/);
    await expect(counters.adjust('k', w, Number.POSITIVE_INFINITY)).rejects.toThrow(/amount must be a finite number/);
    await expect(counters.read('k', { startMs: w.startMs, lengthMs: 0 })).rejects.toThrow(/window must have/);
    await expect(counters.read('', w)).rejects.toThrow(/key must be/);

    expect(await counters.read('k', w)).toBe(0);
  });

  it('concurrent instances: 200 reserves of 1 spread over 8 instances against a limit of 50 take exactly 50', async () => {
    const w = minute();
    const instances = [counters, ...(await Promise.all(Array.from({ length: 7 }, () => instance())))];

    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => instances[i % 8]!.reserve('limit:ep:rpm', w, 1, 50)));

    expect(outcomes.filter((o) => o.ok)).toHaveLength(50);
    expect(outcomes.filter((o) => !o.ok)).toHaveLength(150);
    // Every unit taken was a different one: the counts the winners saw are 1…50, each once.
    expect(outcomes.filter((o) => o.ok).map((o) => o.used).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(outcomes.filter((o) => !o.ok).every((o) => o.used === 50)).toBe(true);
    for (const c of instances) expect(await c.read('limit:ep:rpm', w)).toBe(50);
  });

  it('concurrent instances: no adjust is lost, and no instance takes the counter below 0', async () => {
    const w = minute();
    const instances = [counters, ...(await Promise.all(Array.from({ length: 7 }, () => instance())))];

    await Promise.all(Array.from({ length: 80 }, (_, i) => instances[i % 8]!.adjust('budget:r:tokens', w, 10)));
    expect(await counters.read('budget:r:tokens', w)).toBe(800);

    // Eighty give back 15 each (1200 in all) from 800: it ends at 0, never below.
    const after = await Promise.all(Array.from({ length: 80 }, (_, i) => instances[i % 8]!.adjust('budget:r:tokens', w, -15)));
    expect(after.every((n) => n >= 0)).toBe(true);
    expect(await counters.read('budget:r:tokens', w)).toBe(0);
  });
});
