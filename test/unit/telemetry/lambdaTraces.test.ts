import { SpanKind } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedrockError, bedrockToolAnswer, type BedrockFake } from '../../fakes/bedrockFake.ts';
import type { DynamoDbFake } from '../../fakes/dynamoDbFake.ts';
import type { EventBridgeFake } from '../../fakes/eventBridgeFake.ts';
import { lambdaContext } from '../../fakes/lambdaContext.ts';
import { functionPackage, importOnEventHandler, removeFunctionPackage, sampleOrder, startAwsFakes, stubFunctionEnv } from '../../fakes/lambdaFunction.ts';
import { parentSpanId, registerOtelMemory, spansOf, type OtelMemory } from '../../fakes/otelMemory.ts';

/*
 * The Lambda handler as Lambda invokes it (real SDK clients against the Bedrock, EventBridge and
 * DynamoDB fakes), with the OpenTelemetry SDK registered: the trace of the input — the
 * invocation's _X_AMZN_TRACE_ID, or the trace context a result carries in its Detail — reaches
 * the PutEvents entry of the result as its TraceHeader and in its Detail.
 */

const TABLE = 'nearmesh-traces-idempotency';
const XRAY_TRACE = '65f0a1b20123456789abcdef01234567';
const XRAY_PARENT = '53995c3f42cd8ad8';
const MESH_YAML = `
models:
  - id: bedrock-us-east-1
    provider: bedrock
    region: us-east-1
    model: openai.gpt-oss-120b-1:0
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
let otel: OtelMemory;

beforeEach(async () => {
  dir = await functionPackage({ prefix: 'nearmesh-lambda-traces-', meshYaml: MESH_YAML });
  const aws = await startAwsFakes(TABLE);
  ({ bedrock, events, dynamo } = aws);
  stubFunctionEnv(dir, {
    ...aws.env,
    _X_AMZN_TRACE_ID: `Root=1-${XRAY_TRACE.slice(0, 8)}-${XRAY_TRACE.slice(8)};Parent=${XRAY_PARENT};Sampled=1`,
  });
  otel = registerOtelMemory();
});

afterEach(async () => {
  await otel.shutdown();
  await Promise.all([bedrock.close(), events.close(), dynamo.close()]);
  await removeFunctionPackage(dir);
});

async function invoke(detailExtra: Record<string, unknown> = {}) {
  const handler = await importOnEventHandler();
  const event = (await sampleOrder()) as { detail: Record<string, unknown> };
  return handler({ ...event, detail: { ...event.detail, ...detailExtra } }, lambdaContext());
}

describe('traces through the Lambda handler', () => {
  it('continues the invocation’s X-Ray trace when the event carries none, up to the TraceHeader of the published result', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER, { inputTokens: 1000, outputTokens: 200 }));

    await invoke();

    const spans = spansOf(otel.spans(), XRAY_TRACE);
    const [process, chat, send] = [spans.process[0]!, spans.chat[0]!, spans.send[0]!];
    expect(parentSpanId(process)).toBe(XRAY_PARENT);
    expect(process.attributes).toMatchObject({ 'messaging.system': 'aws_eventbridge', 'messaging.operation.name': 'process', 'messaging.message.id': '6f1c2a7e-3b0d-4c55-9d61-0a4e2f8b1c01' });
    expect(parentSpanId(chat)).toBe(process.spanContext().spanId);
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'aws.bedrock',
      'gen_ai.request.model': 'openai.gpt-oss-120b-1:0',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 200,
    });
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.attributes).toMatchObject({ 'messaging.system': 'aws_eventbridge', 'messaging.destination.name': 'acme-orders' });

    const [entry] = events.accepted;
    const sendId = send.spanContext().spanId;
    expect(entry!.TraceHeader).toBe(`Root=1-65f0a1b2-0123456789abcdef01234567;Parent=${sendId};Sampled=1`);
    const detail = JSON.parse(entry!.Detail) as { lineage: { traceparent: string } };
    expect(detail.lineage.traceparent).toBe(`00-${XRAY_TRACE}-${sendId}-01`);
  });

  it('prefers the trace context a result carries in its Detail (EventBridge drops TraceHeader before the target)', async () => {
    bedrock.reply(bedrockToolAnswer(ANSWER));
    const upstream = '00-11112222333344445555666677778888-aaaabbbbccccdddd-01';

    await invoke({ lineage: { traceparent: upstream } });

    const spans = spansOf(otel.spans(), '11112222333344445555666677778888');
    expect(spans.process).toHaveLength(1);
    expect(parentSpanId(spans.process[0]!)).toBe('aaaabbbbccccdddd');
    expect(spansOf(otel.spans(), XRAY_TRACE).all).toEqual([]);
    expect(events.accepted[0]!.TraceHeader).toMatch(/^Root=1-11112222-333344445555666677778888;Parent=[0-9a-f]{16};Sampled=1$/);
  });

  it('marks a failed model call with error.type on its span and its duration, and records the retry that answered', async () => {
    bedrock.reply(bedrockError(429, 'ThrottlingException', 'Rate exceeded', { 'retry-after': '0' }), bedrockToolAnswer(ANSWER, { inputTokens: 1000, outputTokens: 200 }));

    await invoke();

    const chats = spansOf(otel.spans(), XRAY_TRACE).chat;
    expect(chats.map((c) => c.attributes['error.type'])).toEqual(['ModelThrottled', undefined]);
    const durations = await otel.histogram('gen_ai.client.operation.duration');
    expect(Object.fromEntries(durations.map((p) => [String(p.attributes['error.type'] ?? 'ok'), p.value.count]))).toEqual({ ModelThrottled: 1, ok: 1 });
    const tokens = await otel.histogram('gen_ai.client.token.usage');
    expect(tokens.find((p) => p.attributes['gen_ai.token.type'] === 'input')?.value.sum).toBe(1000);
  });
});
