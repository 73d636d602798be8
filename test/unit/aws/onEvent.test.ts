import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../fakes/lambdaContext.ts';
import { functionPackage, importOnEventHandler, removeFunctionPackage, REPO, sampleOrder, startAwsFakes, stubFunctionEnv } from '../../fakes/lambdaFunction.ts';
import { bedrockError, bedrockToolAnswer, type BedrockFake } from '../../fakes/bedrockFake.ts';
import type { DynamoDbFake } from '../../fakes/dynamoDbFake.ts';
import type { EventBridgeFake } from '../../fakes/eventBridgeFake.ts';
import { startSqsFake, type SqsFake } from '../../fakes/sqsFake.ts';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parseDeadLetter, ruleInputTemplate } from '../../../shared/buses/index.ts';
import { resultId } from '../../../shared/core/index.ts';

/*
 * The Lambda handler invoked as Lambda invokes it: an EventBridge event and a context, with
 * the real SDK clients pointed at local fakes by the standard AWS_ENDPOINT_URL_* variables —
 * Bedrock Converse (HTTP/2), EventBridge PutEvents, DynamoDB for the idempotency claims.
 */

const TABLE = 'nearmesh-test-idempotency';

const MESH_YAML = `
models:
  - id: bedrock-us-east-1
    provider: bedrock
    region: us-east-1
    model: openai.gpt-oss-120b-1:0
    price: { input: 0.15, output: 0.6 }
  - id: bedrock-eu-central-1
    provider: bedrock
    region: eu-central-1
    model: anthropic.claude-3-haiku-20240307-v1:0
    price: { input: 0.25, output: 1.25 }
residency:
  internal: same-geography
destinations:
  orders-bus: { kind: eventbridge, bus: acme-orders, region: us-east-1 }
`;

const ANSWER = { score: 12, level: 'low', reasons: ['long-standing customer'] };

let dir: string;
let bedrock: BedrockFake;
let events: EventBridgeFake;
let dynamo: DynamoDbFake;
let stdout: string[];

beforeEach(async () => {
  dir = await functionPackage({ prefix: 'nearmesh-lambda-', meshYaml: MESH_YAML });
  const aws = await startAwsFakes(TABLE);
  ({ bedrock, events, dynamo } = aws);
  stdout = [];
  stubFunctionEnv(dir, { ...aws.env, _X_AMZN_TRACE_ID: 'Root=1-65f0a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1' }, (chunk) => stdout.push(chunk));
});

afterEach(async () => {
  await Promise.all([bedrock.close(), events.close(), dynamo.close()]);
  await removeFunctionPackage(dir);
});

const loadHandler = importOnEventHandler;

const emfDocs = () =>
  stdout
    .flatMap((s) => s.split('\n'))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('functions/aws/on-event handler', () => {
  it('scores the sample order through Bedrock and publishes the result with PutEvents to the route destination', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER, { inputTokens: 1000, outputTokens: 200 }));
    const handler = await loadHandler();

    const result = await handler(await sampleOrder(), lambdaContext());

    expect(result).toMatchObject({ eventId: '6f1c2a7e-3b0d-4c55-9d61-0a4e2f8b1c01', routes: [{ routeId: 'order-risk', status: 'emitted', endpoint: 'bedrock-us-east-1', destinations: ['orders-bus'] }] });
    expect(bedrock.requests.map((r) => r.modelId)).toEqual(['openai.gpt-oss-120b-1:0']);
    const [entry] = events.accepted;
    expect(entry).toMatchObject({ Source: 'nearmesh.order-risk', DetailType: 'OrderRiskScored', EventBusName: 'acme-orders' });
    expect(entry!.TraceHeader).toBe(process.env._X_AMZN_TRACE_ID);
    const detail = JSON.parse(entry!.Detail) as { result: unknown; provenance: Record<string, unknown> };
    expect(detail.result).toEqual(ANSWER);
    expect(detail.provenance).toMatchObject({ endpoint: 'bedrock-us-east-1', tokens: { input: 1000, output: 200 } });
    expect(dynamo.items(TABLE).map((i) => i.status?.S)).toEqual(['COMPLETED']);
  });

  it('carries the result id, the input id, the correlation id and the trace context in the Detail, valid against the result schema', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER));
    const handler = await loadHandler();
    const input = await sampleOrder();

    await handler(input, lambdaContext());

    // EventBridge assigns its own event id and keeps no CloudEvents extensions: lineage must be in the Detail.
    const detail = JSON.parse(events.accepted[0]!.Detail) as Record<string, unknown>;
    expect(detail.lineage).toEqual({
      resultId: resultId('order-risk', String(input.id)),
      inputId: input.id,
      inputSource: input.source,
      inputType: input['detail-type'],
      correlationId: input.id,
      route: 'order-risk',
      // The invocation's _X_AMZN_TRACE_ID (the event carried none), passed on as it came: no SDK records a span here.
      traceparent: '00-65f0a1b20123456789abcdef01234567-53995c3f42cd8ad8-01',
    });
    const schema = JSON.parse(await readFile(join(REPO, 'events', 'schemas', 'mesh-result.schema.json'), 'utf8')) as object;
    const ajv = new Ajv({ allErrors: true });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    const validate = ajv.compile(schema);
    expect(validate(detail), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...detail, lineage: { inputId: 'x' } })).toBe(false);
  });

  it('runs only the route a rule delivery names, as the rule target renders it', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER));
    const handler = await loadHandler();
    const event = await sampleOrder();
    // What EventBridge renders from the target's InputTemplate for this rule.
    const rendered = JSON.parse(ruleInputTemplate('order-risk').replace('<aws.events.event.json>', JSON.stringify(event))) as unknown;

    const result = await handler(rendered, lambdaContext());

    expect(result.routes).toEqual([expect.objectContaining({ routeId: 'order-risk', status: 'emitted' })]);
    expect(events.accepted).toHaveLength(1);
  });

  it('logs with the event id as correlation id and writes EMF metrics per route and endpoint', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER, { inputTokens: 1000, outputTokens: 200 }));
    const handler = await loadHandler();

    await handler(await sampleOrder(), lambdaContext());

    const logLines = stdout.flatMap((s) => s.split('\n')).filter((l) => l.includes('"correlation_id"'));
    expect(logLines.some((l) => l.includes('"correlation_id":"6f1c2a7e-3b0d-4c55-9d61-0a4e2f8b1c01"') && l.includes('result emitted'))).toBe(true);
    const docs = emfDocs();
    const routeDoc = docs.find((d) => d.route === 'order-risk');
    expect(routeDoc).toMatchObject({ route: 'order-risk', endpoint: 'bedrock-us-east-1', results: 1, tokens: 1200 });
    expect(routeDoc!.costUsd).toBeCloseTo(0.00027, 8);
    expect(docs.some((d) => d.events === 1)).toBe(true);
  });

  it('does not call the model or publish again when EventBridge delivers the same event twice', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER));
    const handler = await loadHandler();
    const event = await sampleOrder();

    await handler(event, lambdaContext());
    const second = await handler(event, lambdaContext());

    expect(second.routes[0]).toMatchObject({ routeId: 'order-risk', status: 'duplicate' });
    expect(bedrock.requests).toHaveLength(1);
    expect(events.accepted).toHaveLength(1);
  });

  it('places an order from another account and region (eu-central-1) on the EU endpoint', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER));
    const handler = await loadHandler();

    const result = await handler(await sampleOrder({ id: randomUUID(), account: '210987654321', region: 'eu-central-1' }), lambdaContext());

    expect(result.routes[0]).toMatchObject({ status: 'emitted', endpoint: 'bedrock-eu-central-1' });
    expect(bedrock.requests.map((r) => r.modelId)).toEqual(['anthropic.claude-3-haiku-20240307-v1:0']);
  });

  it('throws a PolicyViolation naming the route when no endpoint may serve the data, with no model call, and frees the claim', async () => {
    const handler = await loadHandler();

    const err = (await handler(await sampleOrder({ region: 'ap-southeast-2', account: '555555555555' }), lambdaContext()).catch((e: unknown) => e)) as Error;

    expect(err.name).toBe('PolicyViolation');
    expect(err.message).toMatch(/^\[route order-risk\] PolicyViolation: /);
    expect(err.message).toContain('(event 6f1c2a7e-3b0d-4c55-9d61-0a4e2f8b1c01)');
    expect(bedrock.requests).toHaveLength(0);
    expect(events.calls).toHaveLength(0);
    expect(dynamo.items(TABLE)).toHaveLength(0);
  });

  it('sends a permanent failure to the failure queue once, with its reason, and does not throw (no Lambda retry, no second model call)', async () => {
    const sqs: SqsFake = await startSqsFake();
    try {
      const queueUrl = sqs.createQueue('nearmesh-failures');
      vi.stubEnv('AWS_ENDPOINT_URL_SQS', sqs.url);
      vi.stubEnv('MESH_FAILURE_QUEUE_URL', queueUrl);
      bedrock.reply(bedrockError(400, 'ValidationException', 'The model does not accept this request'));
      const handler = await loadHandler();
      const event = await sampleOrder();
      const delivery = { meshRoute: 'order-risk', event };

      const result = await handler(delivery, lambdaContext());

      expect(result.routes).toEqual([expect.objectContaining({ routeId: 'order-risk', status: 'failed', error: 'ModelRequestRejected' })]);
      const [record] = sqs.messages(queueUrl);
      expect(sqs.messages(queueUrl)).toHaveLength(1);
      const letter = parseDeadLetter(record!.body);
      expect(letter).toMatchObject({ kind: 'lambda-destination', condition: 'PermanentFailure', routeId: 'order-risk', errorCode: 'ModelRequestRejected' });
      expect(letter.envelope.event.id).toBe(event.id);
      expect(letter.reason).toContain('[route order-risk]');
      // The claim is free, so a replay after the fix runs the route.
      expect(dynamo.items(TABLE)).toHaveLength(0);
      expect(bedrock.requests).toHaveLength(1);
    } finally {
      await sqs.close();
    }
  });

  it('retries a failing model in the pipeline first, then throws ModelsExhausted for the on-failure destination', async () => {
    bedrock.reply(...Array.from({ length: 4 }, () => bedrockError(500, 'InternalServerException', 'boom')));
    const handler = await loadHandler();

    const err = (await handler(await sampleOrder(), lambdaContext()).catch((e: unknown) => e)) as Error;

    expect(bedrock.requests.length).toBeGreaterThanOrEqual(2);
    expect(err.name).toMatch(/^(ModelsExhausted|ModelUnavailable)$/);
    expect(err.message).toContain('[route order-risk]');
    expect(emfDocs().find((d) => d.route === 'order-risk')).toMatchObject({ failures: 1 });
  });

  it('stops the model call when the invocation is about to time out, keeping the publish margin', async () => {
    bedrock.reply({ ...bedrockToolAnswer(ANSWER), delayMs: 5_000 });
    vi.stubEnv('MESH_PUBLISH_MARGIN_MS', '1000');
    const handler = await loadHandler();
    const started = Date.now();

    const err = (await handler(await sampleOrder(), lambdaContext(1_300)).catch((e: unknown) => e)) as Error;

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err.message).toContain('[route order-risk]');
    expect(events.calls).toHaveLength(0);
  });

  it('throws InvalidEvent for an input that is not an EventBridge event', async () => {
    const handler = await loadHandler();

    const err = (await handler({ id: 'x', source: 'com.acme.orders' }, lambdaContext()).catch((e: unknown) => e)) as Error;

    expect(err.name).toBe('InvalidEvent');
    expect(err.message).toContain('detail-type');
  });
  it('writes one structured audit line per model invocation attempt to the log, marked, with no event content', async () => {
    // Prepare: Bedrock throttles once, then answers
    bedrock.reply(bedrockError(429, 'ThrottlingException', 'Rate exceeded', { 'retry-after': '0' }), bedrockToolAnswer(ANSWER, { inputTokens: 1000, outputTokens: 200 }));
    const handler = await loadHandler();
    // Act
    await handler(await sampleOrder(), lambdaContext());
    // Assess
    const lines = stdout.flatMap((s) => s.split('\n')).filter((l) => l.includes('"audit":"nearmesh.model-invocation.v1"'));
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toEqual([
      expect.objectContaining({ routeId: 'order-risk', eventId: '6f1c2a7e-3b0d-4c55-9d61-0a4e2f8b1c01', endpoint: 'bedrock-us-east-1', provider: 'bedrock', region: 'us-east-1', attempt: 1, outcome: 'error', errorCode: 'ModelThrottled', tokens: null }),
      expect.objectContaining({ endpoint: 'bedrock-us-east-1', attempt: 2, outcome: 'ok', errorCode: null, tokens: { input: 1000, output: 200 }, costUsd: 0.00027 }),
    ]);
    expect(records[1]).toMatchObject({ dataLocation: 'aws:us-east-1', dataLocationSource: 'route', classification: 'internal', model: 'openai.gpt-oss-120b-1:0', latencyMs: expect.any(Number) });
    // nothing of the order: ids, SKUs, amounts, addresses
    for (const line of lines) for (const secret of ['ORD-2026-104233', 'C-20417', 'MUG-CER-350', '84.5', 'shippingAddress']) expect(line).not.toContain(secret);
  });
});
