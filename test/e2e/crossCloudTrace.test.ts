import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDynamoDbFake, type DynamoDbFake } from '../fakes/dynamoDbFake.ts';
import { startEventBridgeFake, type EventBridgeFake } from '../fakes/eventBridgeFake.ts';
import { installFunctionsCore, startServiceBusFunctionsHost, stopSettlementServer, type ServiceBusFunctionsHost } from '../fakes/functionsHost.ts';
import { lambdaContext } from '../fakes/lambdaContext.ts';
import { parentSpanId, registerOtelMemory, spansOf, type OtelMemory } from '../fakes/otelMemory.ts';
import { startServiceBusPeer, type ServiceBusPeer } from '../fakes/serviceBusPeer.ts';
import { startSsmFake, type SsmFake } from '../fakes/ssmFake.ts';
import { startTableStorageFake, type TableStorageFake } from '../fakes/tableStorageFake.ts';

/*
 * One trace from AWS to Azure and back. The Lambda scores an order delivered by EventBridge
 * (its trace in the invocation's _X_AMZN_TRACE_ID) and sends the result to a Service Bus topic;
 * the Azure function reviews that result and sends its own to EventBridge. Real SDK clients
 * against the wire fakes (DynamoDB, SSM, EventBridge, Table Storage, the Service Bus peer), the
 * Functions host stand-in, and the OpenTelemetry SDK with its in-memory exporter.
 */

const REPO = join(import.meta.dirname, '..', '..');
const TRACE_ID = '5759e988bd862e3fe1be46a994272793';
const XRAY_PARENT = '53995c3f42cd8ad8';

const AWS_MESH = `
models:
  - { id: sim-bedrock-us-east-1, provider: simulated, cloud: aws, region: us-east-1, simulated: { latencyMs: 0 } }
residency:
  internal: same-geography
destinations:
  support-topic: { kind: servicebus, namespace: acme-support, entity: risk-scored }
`;
const AZURE_MESH = `
models:
  - { id: sim-azure-eastus, provider: simulated, cloud: azure, region: eastus, simulated: { latencyMs: 0 } }
residency:
  internal: same-geography
sources:
  acme-support: { cloud: azure, region: eastus }
destinations:
  orders-bus: { kind: eventbridge, bus: acme-orders, region: us-east-1 }
`;
const REVIEW_ROUTE = `
id: risk-review
description: Review every scored order
match:
  detail-type: [OrderRiskScored]
data:
  classification: internal
task:
  prompt: |
    Review the fraud score {{detail.result.score}} of order {{detail.lineage.inputId}}.
  output: { $ref: ../schemas/order-risk.output.json }
  maxTokens: 200
emit:
  source: nearmesh.risk-review
  detailType: OrderRiskReviewed
  to: [orders-bus]
`;

let dir: string;
let dynamo: DynamoDbFake;
let ssm: SsmFake;
let events: EventBridgeFake;
let peer: ServiceBusPeer;
let tables: TableStorageFake;
let client: ServiceBusClient;
let host: ServiceBusFunctionsHost;
let otel: OtelMemory;

installFunctionsCore();
afterAll(stopSettlementServer);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-xcloud-trace-'));
  for (const side of ['aws', 'azure']) {
    await mkdir(join(dir, side, 'events', 'routes'), { recursive: true });
    await cp(join(REPO, 'events', 'schemas'), join(dir, side, 'events', 'schemas'), { recursive: true });
  }
  const orderRisk = (await readFile(join(REPO, 'events', 'routes', 'order-risk.yaml'), 'utf8')).replace('to: [orders-bus]', 'to: [support-topic]');
  await writeFile(join(dir, 'aws', 'events', 'routes', 'order-risk.yaml'), orderRisk);
  await writeFile(join(dir, 'aws', 'mesh.yaml'), AWS_MESH);
  await writeFile(join(dir, 'azure', 'events', 'routes', 'risk-review.yaml'), REVIEW_ROUTE);
  await writeFile(join(dir, 'azure', 'mesh.yaml'), AZURE_MESH);
  [dynamo, ssm, events, peer, tables] = await Promise.all([
    startDynamoDbFake(),
    startSsmFake(),
    startEventBridgeFake(),
    startServiceBusPeer({ topics: { 'risk-scored': ['mesh'] }, lockDurationMs: 3_000 }),
    startTableStorageFake(),
  ]);
  dynamo.createTable('idem');
  ssm.put('/nearmesh/servicebus/acme-support', peer.connectionString);
  client = new ServiceBusClient(peer.connectionString);
  const env: Record<string, string> = {
    // AWS side (read when the Lambda module loads)
    MESH_CONFIG: join(dir, 'aws', 'mesh.yaml'),
    MESH_ROUTES_DIR: join(dir, 'aws', 'events', 'routes'),
    MESH_IDEMPOTENCY_TABLE: 'idem',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE0000',
    AWS_SECRET_ACCESS_KEY: 'xcloud-trace-secret',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_LAMBDA_FUNCTION_NAME: 'nearmesh-test-onEvent',
    _X_AMZN_TRACE_ID: `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=${XRAY_PARENT};Sampled=1`,
    // Azure side (read on the function's first message)
    ServiceBusConnection: peer.connectionString,
    MESH_SERVICEBUS_NAMESPACE: 'acme-support',
    MESH_INPUT_TOPIC: 'risk-scored',
    MESH_SUBSCRIPTION: 'mesh',
    MESH_LOCK_DURATION_SECONDS: '3',
    AzureWebJobsStorage: tables.connectionString,
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  vi.resetModules();
  host = await startServiceBusFunctionsHost(client);
  await (await import('@azure/data-tables')).TableClient.fromConnectionString(tables.connectionString, 'meshidempotency', { allowInsecureConnection: true }).createTable();
  otel = registerOtelMemory();
});

afterEach(async () => {
  await otel.shutdown();
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await host.close();
  await client.close();
  await Promise.all([dynamo.close(), ssm.close(), events.close(), peer.close(), tables.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('one trace across clouds', () => {
  it('follows an order from EventBridge through the Lambda, a Service Bus topic and the Azure function back to EventBridge', async () => {
    // AWS: the Lambda scores the order and sends the result to Service Bus.
    const { handler } = await import('../../functions/aws/on-event.ts');
    const order = JSON.parse(await readFile(join(REPO, 'events', 'samples', '01-order-placed.eventbridge.json'), 'utf8')) as unknown;
    const lambda = await handler(order, lambdaContext());
    expect(lambda.routes).toMatchObject([{ routeId: 'order-risk', status: 'emitted' }]);
    const [crossing] = peer.messages('risk-scored/Subscriptions/mesh');
    expect(crossing!.applicationProperties).toMatchObject({ traceparent: expect.stringContaining(TRACE_ID), 'Diagnostic-Id': expect.stringContaining(TRACE_ID) });

    // Azure: the function reviews it and sends its result to EventBridge.
    vi.stubEnv('MESH_CONFIG', join(dir, 'azure', 'mesh.yaml'));
    vi.stubEnv('MESH_ROUTES_DIR', join(dir, 'azure', 'events', 'routes'));
    vi.stubEnv('MESH_IDEMPOTENCY_TABLE', 'meshidempotency');
    await import('../../functions/azure/app.ts');
    const report = await host.invoke('on-message');
    expect(report.settled).toEqual([{ verb: 'complete', messageId: crossing!.messageId }]);

    // One trace: X-Ray parent → Lambda process → Lambda send → Azure process → Azure send → TraceHeader.
    const spans = spansOf(otel.spans(), TRACE_ID);
    expect(spans.process.map((s) => s.attributes['nearmesh.route'])).toEqual(['order-risk', 'risk-review']);
    const [awsProcess, azureProcess] = spans.process as [(typeof spans.process)[0], (typeof spans.process)[0]];
    const [awsSend, azureSend] = spans.send as [(typeof spans.send)[0], (typeof spans.send)[0]];
    expect(parentSpanId(awsProcess)).toBe(XRAY_PARENT);
    expect(parentSpanId(awsSend)).toBe(awsProcess.spanContext().spanId);
    expect(parentSpanId(azureProcess)).toBe(awsSend.spanContext().spanId);
    expect(parentSpanId(azureSend)).toBe(azureProcess.spanContext().spanId);
    expect(spans.chat.map((c) => c.attributes['gen_ai.request.model'])).toEqual(['sim-bedrock-us-east-1', 'sim-azure-eastus']);

    const [back] = events.accepted;
    expect(back!.DetailType).toBe('OrderRiskReviewed');
    expect(back!.TraceHeader).toBe(`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=${azureSend.spanContext().spanId};Sampled=1`);
    expect((JSON.parse(back!.Detail) as { lineage: { traceparent: string } }).lineage.traceparent).toBe(`00-${TRACE_ID}-${azureSend.spanContext().spanId}-01`);
  }, 60_000);
});
