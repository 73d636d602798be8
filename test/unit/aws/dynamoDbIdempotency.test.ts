import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDynamoDbStore } from '../../../shared/store/dynamodb/index.ts';
import type { Store } from '../../../shared/core/index.ts';
import { startDynamoDbFake, type DynamoDbFake } from '../../fakes/dynamoDbFake.ts';

const TABLE = 'nearmesh-idempotency';
const later = (ms: number) => new Date(Date.now() + ms);

describe('DynamoDB idempotency through Powertools (real DynamoDBClient against a wire fake)', () => {
  let fake: DynamoDbFake;
  let client: DynamoDBClient;
  let store: Store;

  beforeEach(async () => {
    fake = await startDynamoDbFake();
    fake.createTable(TABLE);
    client = new DynamoDBClient({ endpoint: fake.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
    store = createDynamoDbStore({ tableName: TABLE, client });
  });
  afterEach(async () => {
    await store.close();
    client.destroy();
    await fake.close();
  });

  it('claims a route + event once: a second claim while the first runs is in-progress', async () => {
    expect(await store.idempotency.begin('order-risk:evt-1', later(30_000))).toEqual({ state: 'claimed' });
    expect(await store.idempotency.begin('order-risk:evt-1', later(30_000))).toEqual({ state: 'in-progress' });
    expect(await store.idempotency.peek('order-risk:evt-1')).toEqual({ state: 'in-progress' });
  });

  it('keys by route and event: another route on the same event claims its own record', async () => {
    await store.idempotency.begin('order-risk:evt-1', later(30_000));

    expect(await store.idempotency.begin('fraud-flag:evt-1', later(30_000))).toEqual({ state: 'claimed' });
    expect(fake.items(TABLE)).toHaveLength(2);
  });

  it('answers completed with the result id once the result was published', async () => {
    await store.idempotency.begin('order-risk:evt-1', later(30_000));

    await store.idempotency.complete('order-risk:evt-1', 'result-123');

    expect(await store.idempotency.begin('order-risk:evt-1', later(30_000))).toEqual({ state: 'completed', resultId: 'result-123' });
    expect(await store.idempotency.peek('order-risk:evt-1')).toEqual({ state: 'completed', resultId: 'result-123' });
  });

  it('lets a retry claim again after a failure released the claim', async () => {
    await store.idempotency.begin('order-risk:evt-1', later(30_000));

    await store.idempotency.release('order-risk:evt-1');

    expect(await store.idempotency.peek('order-risk:evt-1')).toBeUndefined();
    expect(await store.idempotency.begin('order-risk:evt-1', later(30_000))).toEqual({ state: 'claimed' });
  });

  it('lets a claim whose holder died be taken over once it expired', async () => {
    await store.idempotency.begin('order-risk:evt-1', later(1));
    await new Promise((r) => setTimeout(r, 10));

    expect(await store.idempotency.peek('order-risk:evt-1')).toBeUndefined();
    expect(await store.idempotency.begin('order-risk:evt-1', later(30_000))).toEqual({ state: 'claimed' });
  });

  it('sends the calls Powertools documents: a conditional PutItem, UpdateItem to complete, DeleteItem to release', async () => {
    await store.idempotency.begin('order-risk:evt-1', later(30_000));
    await store.idempotency.complete('order-risk:evt-1', 'result-1');
    await store.idempotency.begin('order-risk:evt-2', later(30_000));
    await store.idempotency.release('order-risk:evt-2');

    expect(fake.calls.map((c) => c.operation)).toEqual(['PutItem', 'UpdateItem', 'PutItem', 'DeleteItem']);
    const put = fake.calls[0]!.body;
    expect(put.ConditionExpression).toContain('attribute_not_exists(#id)');
    expect(put.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(put.Item.id.S).toMatch(/^nearmesh#/);
    expect(put.Item.status.S).toBe('INPROGRESS');
    expect(Number(put.Item.in_progress_expiration.N)).toBeGreaterThan(Date.now());
    // Completed claims outlive Lambda's 6 h maximum event age.
    expect(Number(put.Item.expiration.N)).toBeGreaterThan(Date.now() / 1000 + 6 * 3600);
  });

  it('turns a DynamoDB failure into a retryable IdempotencyStoreUnavailable naming the key', async () => {
    fake.failNext('ProvisionedThroughputExceededException');

    const err = await store.idempotency.begin('order-risk:evt-9', later(30_000)).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'IdempotencyStoreUnavailable', retryable: true });
    expect((err as Error).message).toContain('order-risk:evt-9');
    expect((err as Error).message).toContain('ProvisionedThroughputExceeded');
  });

  it('keeps no failure ledger of its own: failures go to the on-failure destination', async () => {
    const store2 = createDynamoDbStore({ tableName: TABLE, client });
    expect(await store2.failures.listFailures()).toEqual([]);
    expect(await store2.failures.getFailure('anything')).toBeUndefined();
  });
});
