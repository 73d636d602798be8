import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resultId } from '../../../shared/core/index.ts';
import { lambdaContext } from '../../fakes/lambdaContext.ts';
import { bedrockToolAnswer, startBedrockFake, type BedrockFake } from '../../fakes/bedrockFake.ts';
import { startDynamoDbFake, type DynamoDbFake } from '../../fakes/dynamoDbFake.ts';
import { startServiceBusPeer, type ServiceBusPeer } from '../../fakes/serviceBusPeer.ts';
import { startSsmFake, type SsmFake } from '../../fakes/ssmFake.ts';

/*
 * Cross-cloud from Lambda: a route whose destination is a Service Bus topic publishes there
 * with the real @azure/service-bus client (against the AMQP test peer), its connection string
 * read from SSM Parameter Store through the real SSM client (against a wire fake).
 */

const REPO = join(import.meta.dirname, '..', '..', '..');
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
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-xcloud-'));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  const route = (await readFile(join(REPO, 'events', 'routes', 'order-risk.yaml'), 'utf8')).replace('to: [orders-bus]', 'to: [support-topic]');
  await writeFile(join(dir, 'events', 'routes', 'order-risk.yaml'), route);
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  [bedrock, dynamo, ssm, peer] = await Promise.all([startBedrockFake(), startDynamoDbFake(), startSsmFake(), startServiceBusPeer({ topics: { 'tickets-triaged': ['agents'] } })]);
  dynamo.createTable(TABLE);
  bedrock.reply(bedrockToolAnswer({ score: 40, level: 'medium', reasons: ['new customer'] }));
  const env: Record<string, string> = {
    MESH_CONFIG: join(dir, 'mesh.yaml'),
    MESH_ROUTES_DIR: join(dir, 'events', 'routes'),
    MESH_IDEMPOTENCY_TABLE: TABLE,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
    AWS_SECRET_ACCESS_KEY: 'xcloud-test-secret',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_LAMBDA_FUNCTION_NAME: 'nearmesh-test-onEvent',
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.resetModules();
});

afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  await Promise.all([bedrock.close(), dynamo.close(), ssm.close(), peer.close()]);
  await rm(dir, { recursive: true, force: true });
});


async function sampleOrder(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(REPO, 'events', 'samples', '01-order-placed.eventbridge.json'), 'utf8')) as Record<string, unknown>;
}

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
