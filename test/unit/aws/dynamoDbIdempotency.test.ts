import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDynamoDbStore } from '../../../shared/store/dynamodb/index.ts';
import { ClaimLostError, type Store } from '../../../shared/core/index.ts';
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
  const claim = async (key: string, expiresAt: Date) => {
    const got = await store.idempotency.begin(key, expiresAt);
    if (got.state !== 'claimed') throw new Error(`expected to claim ${key}, got ${got.state}`);
    return got.token;
  };

  it('claims a route + event once: a second claim while the first runs is in-progress', async () => {
    expect(await store.idempotency.begin('order-risk:evt-1', later(30_000))).toEqual({ state: 'claimed', token: expect.any(String) });
    expect(await store.idempotency.begin('order-risk:evt-1', later(30_000))).toEqual({ state: 'in-progress' });
    expect(await store.idempotency.peek('order-risk:evt-1')).toEqual({ state: 'in-progress' });
  });

  it('keys by route and event: another route on the same event claims its own record', async () => {
    await store.idempotency.begin('order-risk:evt-1', later(30_000));

    expect(await store.idempotency.begin('fraud-flag:evt-1', later(30_000))).toMatchObject({ state: 'claimed' });
    expect(fake.items(TABLE)).toHaveLength(2);
  });

  it('answers completed with the result id once the result was published', async () => {
    const token = await claim('order-risk:evt-1', later(30_000));

    await store.idempotency.complete('order-risk:evt-1', token, 'result-123');

    expect(await store.idempotency.begin('order-risk:evt-1', later(30_000))).toEqual({ state: 'completed', resultId: 'result-123' });
    expect(await store.idempotency.peek('order-risk:evt-1')).toEqual({ state: 'completed', resultId: 'result-123' });
  });

  it('lets a retry claim again after a failure released the claim', async () => {
    const token = await claim('order-risk:evt-1', later(30_000));

    await store.idempotency.release('order-risk:evt-1', token);

    expect(await store.idempotency.peek('order-risk:evt-1')).toBeUndefined();
    expect(await store.idempotency.begin('order-risk:evt-1', later(30_000))).toMatchObject({ state: 'claimed' });
  });

  it('lets a claim whose holder died be taken over once it expired', async () => {
    await store.idempotency.begin('order-risk:evt-1', later(1));
    await new Promise((r) => setTimeout(r, 10));

    expect(await store.idempotency.peek('order-risk:evt-1')).toBeUndefined();
    expect(await store.idempotency.begin('order-risk:evt-1', later(30_000))).toMatchObject({ state: 'claimed' });
  });

  it('writes Powertools\' record format plus the owner: a conditional PutItem, then UpdateItem and DeleteItem conditional on the owner', async () => {
    const first = await claim('order-risk:evt-1', later(30_000));
    await store.idempotency.complete('order-risk:evt-1', first, 'result-1');
    const second = await claim('order-risk:evt-2', later(30_000));
    await store.idempotency.renew('order-risk:evt-2', second, later(60_000));
    await store.idempotency.release('order-risk:evt-2', second);

    expect(fake.calls.map((c) => c.operation)).toEqual(['PutItem', 'UpdateItem', 'PutItem', 'UpdateItem', 'DeleteItem']);
    const [put, complete, , renew, release] = fake.calls.map((c) => c.body);
    expect(put.ConditionExpression).toContain('attribute_not_exists(#id)');
    expect(put.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(put.Item.id.S).toMatch(/^nearmesh#/);
    expect(put.Item.status.S).toBe('INPROGRESS');
    expect(put.Item.owner.S).toBe(first);
    expect(Number(put.Item.in_progress_expiration.N)).toBeGreaterThan(Date.now());
    // Completed claims outlive Lambda's 6 h maximum event age.
    expect(Number(put.Item.expiration.N)).toBeGreaterThan(Date.now() / 1000 + 6 * 3600);
    for (const fenced of [complete, renew, release]) {
      expect(fenced.ConditionExpression).toBe('#held_status = :held_inprogress AND #held_owner = :held_owner');
      expect(fenced.ExpressionAttributeNames).toMatchObject({ '#held_status': 'status', '#held_owner': 'owner' });
      expect(fenced.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    }
    expect(complete.ExpressionAttributeValues[':held_owner'].S).toBe(first);
    expect(release.ExpressionAttributeValues[':held_owner'].S).toBe(second);
    expect(fake.items(TABLE)).toEqual([expect.objectContaining({ status: { S: 'COMPLETED' }, data: { S: 'result-1' }, owner: { S: first } })]);
  });

  it('a holder whose lease was taken over gets ClaimLostError, and the new owner\'s record is untouched', async () => {
    const stale = await claim('order-risk:evt-1', later(1));
    await new Promise((r) => setTimeout(r, 10));
    const owner = await claim('order-risk:evt-1', later(30_000));
    const before = fake.items(TABLE);

    await expect(store.idempotency.complete('order-risk:evt-1', stale, 'result-stale')).rejects.toBeInstanceOf(ClaimLostError);
    await expect(store.idempotency.release('order-risk:evt-1', stale)).rejects.toBeInstanceOf(ClaimLostError);

    expect(fake.items(TABLE)).toEqual(before);
    expect(fake.items(TABLE)[0]!.owner).toEqual({ S: owner });
  });

  it('an expired claim written before owners existed cannot be completed with a token, but can be taken over', async () => {
    // What the previous release wrote: Powertools' record without an owner.
    const token = await claim('order-risk:evt-old', later(30_000));
    const [item] = fake.items(TABLE);
    delete item!.owner;
    item!.in_progress_expiration = { N: String(Date.now() - 1) };

    await expect(store.idempotency.complete('order-risk:evt-old', token, 'result-1')).rejects.toBeInstanceOf(ClaimLostError);
    expect(await store.idempotency.begin('order-risk:evt-old', later(30_000))).toMatchObject({ state: 'claimed' });
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
