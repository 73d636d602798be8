import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resultId } from '../../../shared/core/index.ts';
import { bedrockToolAnswer, type BedrockFake } from '../../fakes/bedrockFake.ts';
import type { DynamoDbFake } from '../../fakes/dynamoDbFake.ts';
import type { EventBridgeFake } from '../../fakes/eventBridgeFake.ts';
import { lambdaContext } from '../../fakes/lambdaContext.ts';
import { functionPackage, importOnEventHandler, removeFunctionPackage, sampleOrder, startAwsFakes, stubFunctionEnv } from '../../fakes/lambdaFunction.ts';

/*
 * Approval through the Lambda handler, as Lambda invokes it, with the real SDK clients on the
 * fakes: the held result lives in the DynamoDB table, PendingApproval and the released result
 * go out with PutEvents, and an approval is an EventBridge event from the approvals source.
 */

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
  dir = await functionPackage({ prefix: 'nearmesh-lambda-approval-', meshYaml: MESH_YAML, route: (yaml) => `${yaml}\napproval: required\n` });
  const aws = await startAwsFakes(TABLE);
  ({ bedrock, events, dynamo } = aws);
  stubFunctionEnv(dir, aws.env);
});

afterEach(async () => {
  await Promise.all([bedrock.close(), events.close(), dynamo.close()]);
  await removeFunctionPackage(dir);
});

const loadHandler = importOnEventHandler;

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
