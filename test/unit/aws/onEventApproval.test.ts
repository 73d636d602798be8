import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resultId } from '../../../shared/core/index.ts';
import { bedrockToolAnswer, startBedrockFake, type BedrockFake } from '../../fakes/bedrockFake.ts';
import { startDynamoDbFake, type DynamoDbFake } from '../../fakes/dynamoDbFake.ts';
import { startEventBridgeFake, type EventBridgeFake } from '../../fakes/eventBridgeFake.ts';
import { lambdaContext } from '../../fakes/lambdaContext.ts';

/*
 * Approval through the Lambda handler, as Lambda invokes it, with the real SDK clients on the
 * fakes: the held result lives in the DynamoDB table, PendingApproval and the released result
 * go out with PutEvents, and an approval is an EventBridge event from the approvals source.
 */

const REPO = join(import.meta.dirname, '..', '..', '..');
const TABLE = 'nearmesh-test-idempotency';
const MESH_YAML = `
models:
  - { id: bedrock-us-east-1, provider: bedrock, region: us-east-1, model: openai.gpt-oss-120b-1:0, price: { input: 0.15, output: 0.6 } }
residency:
  internal: same-geography
destinations:
  orders-bus: { kind: eventbridge, bus: acme-orders, region: us-east-1 }
approvals:
  source: com.acme.risk-desk
`;
const ANSWER = { score: 91, level: 'high', reasons: ['new customer, high total'] };

let dir: string;
let bedrock: BedrockFake;
let events: EventBridgeFake;
let dynamo: DynamoDbFake;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-lambda-approval-'));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  const route = await readFile(join(REPO, 'events', 'routes', 'order-risk.yaml'), 'utf8');
  await writeFile(join(dir, 'events', 'routes', 'order-risk.yaml'), `${route}\napproval: required\n`);
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  [bedrock, events, dynamo] = await Promise.all([startBedrockFake(), startEventBridgeFake(), startDynamoDbFake()]);
  dynamo.createTable(TABLE);
  const env: Record<string, string> = {
    MESH_CONFIG: join(dir, 'mesh.yaml'),
    MESH_ROUTES_DIR: join(dir, 'events', 'routes'),
    MESH_IDEMPOTENCY_TABLE: TABLE,
    MESH_EVENT_BUS: 'acme-ingress',
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
    AWS_SECRET_ACCESS_KEY: 'lambda-test-secret',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_LAMBDA_FUNCTION_NAME: 'nearmesh-test-onEvent',
    POWERTOOLS_SERVICE_NAME: 'nearmesh',
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.resetModules();
});

afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  await Promise.all([bedrock.close(), events.close(), dynamo.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function loadHandler() {
  return (await import('../../../functions/aws/on-event.ts')).handler;
}

async function sampleOrder() {
  return JSON.parse(await readFile(join(REPO, 'events', 'samples', '01-order-placed.eventbridge.json'), 'utf8')) as Record<string, unknown>;
}

/** An approval as an operator's tool puts it on the bus (PutEvents), delivered raw to the function. */
function approvalEvent(id: string, detail: Record<string, unknown>, source = 'com.acme.risk-desk') {
  return { version: '0', id, 'detail-type': 'nearmesh.Approval', source, account: '123456789012', time: '2026-03-02T10:00:00Z', region: 'us-east-1', resources: [], detail };
}

const approvalItems = () => dynamo.items(TABLE).filter((i) => i.id?.S?.startsWith('approval#'));

describe('approval through the Lambda handler (DynamoDB, PutEvents)', () => {
  it('holds the result in DynamoDB and publishes OrderRiskScored.PendingApproval without the score', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER));
    const handler = await loadHandler();
    const order = await sampleOrder();

    const result = await handler(order, lambdaContext());

    const id = resultId('order-risk', String(order.id));
    expect(result.routes).toEqual([expect.objectContaining({ routeId: 'order-risk', status: 'pending-approval', resultId: id, destinations: ['orders-bus'] })]);
    expect(events.accepted.map((e) => e.DetailType)).toEqual(['OrderRiskScored.PendingApproval']);
    const detail = JSON.parse(events.accepted[0]!.Detail) as Record<string, unknown>;
    expect(detail).toMatchObject({ resultId: id, route: 'order-risk', inputId: order.id, summary: { endpoint: 'bedrock-us-east-1' } });
    expect(events.accepted[0]!.Detail).not.toContain('new customer, high total');
    expect(approvalItems()).toMatchObject([{ status: { S: 'pending' }, resultId: { S: id } }]);
  });

  it('publishes the held result once on an approval event, however often it arrives; a second delivery of the order changes nothing', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER));
    const handler = await loadHandler();
    const order = await sampleOrder();
    await handler(order, lambdaContext());
    const id = resultId('order-risk', String(order.id));

    const approved = await handler(approvalEvent('a-1', { resultId: id, decision: 'approve', actor: 'risk-desk@acme' }), lambdaContext());
    const again = await handler(approvalEvent('a-2', { resultId: id, decision: 'approve', actor: 'risk-desk@acme' }), lambdaContext());
    const redelivered = await handler(order, lambdaContext());

    expect(approved.routes).toEqual([expect.objectContaining({ routeId: 'order-risk', status: 'approved', resultId: id, destinations: ['orders-bus'] })]);
    expect(again.routes).toEqual([expect.objectContaining({ status: 'duplicate', resultId: id })]);
    expect(redelivered.routes).toEqual([expect.objectContaining({ status: 'duplicate', resultId: id })]);
    expect(events.accepted.map((e) => e.DetailType)).toEqual(['OrderRiskScored.PendingApproval', 'OrderRiskScored']);
    const released = JSON.parse(events.accepted[1]!.Detail) as { result: unknown; lineage: { resultId: string } };
    expect(released.result).toEqual(ANSWER);
    expect(released.lineage.resultId).toBe(id);
    expect(events.accepted[1]!.EventBusName).toBe('acme-orders');
    expect(bedrock.requests).toHaveLength(1);
    expect(approvalItems()).toMatchObject([{ status: { S: 'approved' }, actor: { S: 'risk-desk@acme' } }]);
  });

  it('publishes once when two invocations carry approvals of the same result at the same time', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER));
    const handler = await loadHandler();
    const order = await sampleOrder();
    await handler(order, lambdaContext());
    const id = resultId('order-risk', String(order.id));

    const outcomes = await Promise.all([
      handler(approvalEvent('c-1', { resultId: id, decision: 'approve', actor: 'ana' }), lambdaContext()),
      handler(approvalEvent('c-2', { resultId: id, decision: 'approve', actor: 'bo' }), lambdaContext()),
    ]);

    expect(outcomes.map((o) => o.routes[0]!.status).sort()).toEqual(['approved', 'duplicate']);
    expect(events.accepted.map((e) => e.DetailType)).toEqual(['OrderRiskScored.PendingApproval', 'OrderRiskScored']);
  });

  it('records a rejection with its reason and publishes nothing', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER));
    const handler = await loadHandler();
    const order = await sampleOrder();
    await handler(order, lambdaContext());
    const id = resultId('order-risk', String(order.id));

    const rejected = await handler(approvalEvent('r-1', { resultId: id, decision: 'reject', actor: 'risk-desk@acme', reason: 'manual review found it fine' }), lambdaContext());

    expect(rejected.routes).toEqual([expect.objectContaining({ status: 'rejected', resultId: id })]);
    expect(events.accepted.map((e) => e.DetailType)).toEqual(['OrderRiskScored.PendingApproval']);
    expect(approvalItems()).toMatchObject([{ status: { S: 'rejected' }, reason: { S: 'manual review found it fine' } }]);
  });

  it('refuses an approval event from another source: nothing decided, nothing published, the invocation fails for good', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER));
    const handler = await loadHandler();
    const order = await sampleOrder();
    await handler(order, lambdaContext());
    const id = resultId('order-risk', String(order.id));

    const forged = handler(approvalEvent('f-1', { resultId: id, decision: 'approve', actor: 'mallory' }, 'com.acme.orders'), lambdaContext());

    await expect(forged).rejects.toThrow(/ApprovalSourceRefused|accepted only from "com\.acme\.risk-desk"/);
    expect(events.accepted.map((e) => e.DetailType)).toEqual(['OrderRiskScored.PendingApproval']);
    expect(approvalItems()).toMatchObject([{ status: { S: 'pending' } }]);
  });
});
