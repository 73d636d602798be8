import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resultId } from '../../../shared/core/index.ts';
import { lambdaContext } from '../../fakes/lambdaContext.ts';
import { functionPackage, removeFunctionPackage, sampleOrder, stubFunctionEnv } from '../../fakes/lambdaFunction.ts';
import { bedrockToolAnswer, startBedrockFake, type BedrockFake } from '../../fakes/bedrockFake.ts';
import { startDynamoDbFake, type DynamoDbFake } from '../../fakes/dynamoDbFake.ts';
import { startServiceBusPeer, type ServiceBusPeer } from '../../fakes/serviceBusPeer.ts';
import { startSsmFake, type SsmFake } from '../../fakes/ssmFake.ts';

/*
 * Cross-cloud from Lambda: a route whose destination is a Service Bus topic publishes there
 * with the real @azure/service-bus client (against the AMQP test peer), its connection string
 * read from SSM Parameter Store through the real SSM client (against a wire fake).
 */

const TABLE = 'nearmesh-xcloud-idempotency';
const PARAMETER = '/nearmesh/servicebus/acme-support';

const MESH_YAML = `
models:
  - id: bedrock-us-east-1
    provider: bedrock
    region: us-east-1
    model: openai.gpt-oss-120b-1:0
residency:
  internal: same-geography
destinations:
  support-topic: { kind: servicebus, namespace: acme-support, entity: tickets-triaged }
`;

let dir: string;
let bedrock: BedrockFake;
let dynamo: DynamoDbFake;
let ssm: SsmFake;
let peer: ServiceBusPeer;

beforeEach(async () => {
  dir = await functionPackage({ prefix: 'nearmesh-xcloud-', meshYaml: MESH_YAML, route: (yaml) => yaml.replace('to: [orders-bus]', 'to: [support-topic]') });
  [bedrock, dynamo, ssm, peer] = await Promise.all([startBedrockFake(), startDynamoDbFake(), startSsmFake(), startServiceBusPeer({ topics: { 'tickets-triaged': ['agents'] } })]);
  dynamo.createTable(TABLE);
  bedrock.reply(bedrockToolAnswer({ score: 40, level: 'medium', reasons: ['new customer'] }));
  stubFunctionEnv(dir, {
    MESH_IDEMPOTENCY_TABLE: TABLE,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_SECRET_ACCESS_KEY: 'xcloud-test-secret',
  });
});

afterEach(async () => {
  await Promise.all([bedrock.close(), dynamo.close(), ssm.close(), peer.close()]);
  await removeFunctionPackage(dir);
});

describe('Lambda → Service Bus (cross-cloud)', () => {
  it('publishes the result to the topic, with the connection string read from SSM and the result id as messageId', async () => {
    // Prepare
    ssm.put(PARAMETER, peer.connectionString);
    const { handler } = await import('../../../functions/aws/on-event.ts');
    const event = await sampleOrder();
    // Act
    await handler(event, lambdaContext());
    // Assess
    const [message, ...more] = peer.messages('tickets-triaged/Subscriptions/agents');
    expect(more).toEqual([]);
    expect(message!.messageId).toBe(resultId('order-risk', String(event.id)));
    expect(message!.subject).toBe('OrderRiskScored');
    expect(ssm.calls).toEqual([{ target: 'AmazonSSM.GetParameter', body: { Name: PARAMETER, WithDecryption: true } }]);
  }, 60_000);

  it('rejects the result (no retry can fix it) naming the missing parameter, never a connection string', async () => {
    const { handler } = await import('../../../functions/aws/on-event.ts');
    const error = await handler(await sampleOrder(), lambdaContext()).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.name).toBe('PublishRejected');
    expect(error?.message).toContain(`SSM parameter ${PARAMETER}`);
    expect(error?.message).not.toContain('SharedAccessKey');
    expect(peer.messages('tickets-triaged/Subscriptions/agents')).toEqual([]);
  }, 60_000);
});
