import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDynamoDbFake, type DynamoDbFake } from '../../fakes/dynamoDbFake.ts';

// The fake's ADD and ReturnValues, as DynamoDB documents them, through the real client.
describe('DynamoDB wire fake: UpdateItem ADD', () => {
  let fake: DynamoDbFake;
  let client: DynamoDBClient;

  beforeEach(async () => {
    fake = await startDynamoDbFake();
    fake.createTable('t');
    client = new DynamoDBClient({ endpoint: fake.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await fake.close();
  });

  const add = (n: string, extra: Record<string, unknown> = {}) =>
    client.send(
      new UpdateItemCommand({
        TableName: 't',
        Key: { id: { S: 'a' } },
        UpdateExpression: 'ADD #n :n SET #tag = :tag',
        ExpressionAttributeNames: { '#n': 'n', '#tag': 'tag' },
        ExpressionAttributeValues: { ':n': { N: n }, ':tag': { S: 'x' } },
        ...extra,
      }),
    );

  it('adds to a missing attribute from 0 (creating the item), then to what is stored, returning what the update wrote', async () => {
    expect((await add('2', { ReturnValues: 'UPDATED_NEW' })).Attributes).toEqual({ n: { N: '2' }, tag: { S: 'x' } });
    expect((await add('-0.5', { ReturnValues: 'ALL_NEW' })).Attributes).toEqual({ id: { S: 'a' }, n: { N: '1.5' }, tag: { S: 'x' } });
    expect((await add('1')).Attributes).toBeUndefined();
    expect((await client.send(new GetItemCommand({ TableName: 't', Key: { id: { S: 'a' } } }))).Item?.n).toEqual({ N: '2.5' });
  });

  it('adds only when the condition holds, and hands back the old item when asked', async () => {
    await add('3');
    const condition = { ConditionExpression: '#n <= :room', ExpressionAttributeValues: { ':n': { N: '1' }, ':tag': { S: 'x' }, ':room': { N: '2' } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const };

    const err = await add('1', condition).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'ConditionalCheckFailedException', Item: { n: { N: '3' } } });
    expect(fake.items('t')[0]!.n).toEqual({ N: '3' });
  });

  it('refuses to ADD to an attribute that is not a number', async () => {
    await client.send(new UpdateItemCommand({ TableName: 't', Key: { id: { S: 'a' } }, UpdateExpression: 'SET n = :s', ExpressionAttributeValues: { ':s': { S: 'text' } } }));

    await expect(add('1')).rejects.toMatchObject({ name: 'ValidationException' });
  });
});
