import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { counterWindow, StoreUnavailableError, type UsageCounters } from '../../../shared/core/index.ts';
import { createDynamoDbStore } from '../../../shared/store/dynamodb/index.ts';
import { startDynamoDbFake, type DynamoDbFake } from '../../fakes/dynamoDbFake.ts';

// What the contract suite does not look at: what goes over the wire, and how failures read.
describe('DynamoDB usage counters (real DynamoDBClient against the wire fake)', () => {
  let fake: DynamoDbFake;
  let client: DynamoDBClient;
  let counters: UsageCounters;
  const w = counterWindow('minute', Date.parse('2026-11-22T08:00:30.000Z'));

  beforeEach(async () => {
    fake = await startDynamoDbFake();
    fake.createTable('nearmesh-idempotency');
    fake.createTable('nearmesh-counters');
    client = new DynamoDBClient({ endpoint: fake.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
    counters = createDynamoDbStore({ tableName: 'nearmesh-idempotency', countersTable: 'nearmesh-counters', client }).counters!;
  });
  afterEach(async () => {
    client.destroy();
    await fake.close();
  });

  it('reserves with one conditional UpdateItem on the counters table, the item expiring (TTL) when its window ends', async () => {
    await counters.reserve('limit:bedrock-eu:rpm', w, 2, 60);

    const updates = fake.calls.filter((c) => c.operation === 'UpdateItem');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.body).toMatchObject({
      TableName: 'nearmesh-counters',
      Key: { id: { S: `${w.startMs}+60000/limit:bedrock-eu:rpm` } },
      UpdateExpression: 'ADD #used :n SET #expiration = :expiration',
      ConditionExpression: 'attribute_not_exists(#used) OR #used <= :room',
      ExpressionAttributeValues: { ':n': { N: '2' }, ':room': { N: '58' } },
    });
    expect(fake.items('nearmesh-counters')).toEqual([
      { id: { S: `${w.startMs}+60000/limit:bedrock-eu:rpm` }, used: { N: '2' }, expiration: { N: String(Date.parse('2026-11-22T08:01:00.000Z') / 1000) } },
    ]);
    expect(fake.items('nearmesh-idempotency')).toEqual([]);
  });

  it('uses only UpdateItem and GetItem, the two actions the role is granted on the counters table', async () => {
    await counters.reserve('k', w, 1, 1);
    await counters.reserve('k', w, 1, 1);
    await counters.reserve('k', w, 5, 1);
    await counters.adjust('k', w, 3);
    await counters.adjust('k', w, -10);
    await counters.read('k', w);

    expect(new Set(fake.calls.map((c) => c.operation))).toEqual(new Set(['UpdateItem', 'GetItem']));
    expect(fake.calls.every((c) => c.body.TableName === 'nearmesh-counters')).toBe(true);
  });

  it('turns a DynamoDB failure into a retryable StoreUnavailableError naming the counter and table, without the SDK error', async () => {
    fake.failNext('ProvisionedThroughputExceededException');

    const err = await counters.reserve('limit:bedrock-eu:rpm', w, 1, 60).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ code: 'StoreUnavailable', retryable: true, context: { counter: 'limit:bedrock-eu:rpm', table: 'nearmesh-counters', errorCode: 'ProvisionedThroughputExceededException', status: 400 } });
    expect((err as Error).message).toMatch(/usage counter limit:bedrock-eu:rpm .*could not reserve in DynamoDB table nearmesh-counters: ProvisionedThroughputExceededException/);
    expect((err as Error).cause).toBeUndefined();
  });

  it('says what to do when the counters table is missing', async () => {
    const missing = createDynamoDbStore({ tableName: 'nearmesh-idempotency', countersTable: 'not-deployed', client }).counters!;

    const err = await missing.read('k', w).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toContain('the table does not exist: deploy it with serverless.yml (CountersTable) or set MESH_COUNTERS_TABLE');
  });

  it('has no counters without a counters table: a mesh with budgets must refuse to start rather than not count', () => {
    expect(createDynamoDbStore({ tableName: 'nearmesh-idempotency', client }).counters).toBeUndefined();
  });
});
