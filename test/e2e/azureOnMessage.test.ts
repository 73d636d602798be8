import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installFunctionsCore, startServiceBusFunctionsHost, stopSettlementServer, type InvocationReport, type ServiceBusFunctionsHost } from '../fakes/functionsHost.ts';
import { startServiceBusPeer, type ServiceBusPeer } from '../fakes/serviceBusPeer.ts';
import { startTableStorageFake, type TableStorageFake } from '../fakes/tableStorageFake.ts';

/*
 * The on-message function end to end without Azure, as deployed: the registration module
 * (functions/azure/app.ts) is loaded by the real @azure/functions library, which a stand-in
 * Functions host drives through its own invocation model (test/fakes/functionsHost.ts): the
 * trigger input is the host's model binding data for `sdkBinding: true`, decoded by the real
 * settlement extension, whose actions call the host's Settlement gRPC service, which settles
 * on the real @azure/service-bus receiver against the AMQP peer. Claims go to Table Storage
 * through the real @azure/data-tables client and its fake.
 */

const REPO = join(import.meta.dirname, '..', '..');

const MESH_YAML = `
models:
  - { id: sim-azure-westeurope, provider: simulated, cloud: azure, region: westeurope, simulated: { latencyMs: 0 } }
  - { id: sim-azure-eastus, provider: simulated, cloud: azure, region: eastus, simulated: { latencyMs: 0 } }
residency:
  pii: same-region
sources:
  acme-support: { cloud: azure, region: westeurope }
destinations:
  support-topic: { kind: servicebus, namespace: acme-support, entity: tickets-triaged }
  audit-queue: { kind: servicebus, namespace: acme-audit, entity: triage-audit }
`;

let dir: string;
let peer: ServiceBusPeer;
let tables: TableStorageFake;
let client: ServiceBusClient;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nearmesh-azure-'));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  const route = await readFile(join(REPO, 'events', 'routes', 'ticket-triage.yaml'), 'utf8');
  await writeFile(join(dir, 'events', 'routes', 'ticket-triage.yaml'), route.replace('to: [support-topic]', 'to: [support-topic, audit-queue]'));
  await writeFile(join(dir, 'mesh.yaml'), MESH_YAML);
  peer = await startServiceBusPeer({ topics: { tickets: ['mesh'], 'tickets-triaged': ['agents'] }, maxDeliveryCount: 3 });
  tables = await startTableStorageFake();
  client = new ServiceBusClient(peer.connectionString);
  const env: Record<string, string> = {
    MESH_CONFIG: join(dir, 'mesh.yaml'),
    MESH_ROUTES_DIR: join(dir, 'events', 'routes'),
    ServiceBusConnection: peer.connectionString,
    MESH_SERVICEBUS_NAMESPACE: 'acme-support',
    MESH_INPUT_TOPIC: 'tickets',
    MESH_SUBSCRIPTION: 'mesh',
    MESH_RESULTS_ENTITY: 'tickets-triaged',
    MESH_MAX_DELIVERY_COUNT: '3',
    // Another namespace: in this spec the same peer plays it.
    MESH_SERVICEBUS_ACME_AUDIT_CONNECTION: peer.connectionString,
    AzureWebJobsStorage: tables.connectionString,
    MESH_IDEMPOTENCY_TABLE: 'meshidempotency',
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  vi.resetModules();
  host = await startServiceBusFunctionsHost(client);
  await (await import('@azure/data-tables')).TableClient.fromConnectionString(tables.connectionString, 'meshidempotency', { allowInsecureConnection: true }).createTable();
});

afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await host.close();
  await client.close();
  await peer.close();
  await tables.close();
  await rm(dir, { recursive: true, force: true });
});

let host: ServiceBusFunctionsHost;

/** Import the registration module (as the worker does at start) and run one invocation of on-message. */
async function invokeOnMessage(): Promise<InvocationReport> {
  await import('../../functions/azure/app.ts');
  return host.invoke('on-message');
}

async function publishTicket(messageId: string, body: unknown, extra: { subject?: string } = {}) {
  const sample = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as { applicationProperties: Record<string, string> };
  const sender = client.createSender('tickets');
  await sender.sendMessages({
    messageId,
    contentType: 'application/json',
    correlationId: 'corr-42',
    ...(extra.subject ? { subject: extra.subject } : {}),
    applicationProperties: { ...sample.applicationProperties, 'cloudEvents:id': messageId },
    body,
  });
  await sender.close();
}

installFunctionsCore();
afterAll(stopSettlementServer);

const TICKET = async () => (JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as { body: unknown }).body;

describe('on-message through the Functions host, Service Bus and Table Storage', () => {
  it('registers one batch trigger with deferred (SDK) binding, manual settlement and the results output binding', async () => {
    const registered = installFunctionsCore();
    await import('../../functions/azure/app.ts');

    const { bindings } = registered.get('on-message')!.metadata;
    expect(Object.values(bindings)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'serviceBusTrigger', direction: 'in', topicName: '%MESH_INPUT_TOPIC%', subscriptionName: '%MESH_SUBSCRIPTION%', cardinality: 'many', autoCompleteMessages: false, connection: 'ServiceBusConnection', properties: { supportsDeferredBinding: 'true' } }),
        expect.objectContaining({ type: 'serviceBus', direction: 'out', name: 'meshResults', topicName: '%MESH_RESULTS_ENTITY%', connection: 'ServiceBusConnection' }),
      ]),
    );
  });

  it('triages a ticket: the result goes out through the output binding (same namespace) and a sender (other namespace); the input is completed', async () => {
    await publishTicket('TCK-1', await TICKET());

    const report = await invokeOnMessage();

    expect(report.error).toBeUndefined();
    expect(report.settled).toEqual([{ verb: 'complete', messageId: 'TCK-1' }]);
    const [viaBinding] = peer.messages('tickets-triaged/Subscriptions/agents');
    const [viaSender] = peer.messages('triage-audit');
    // The binding sends a body only: a structured CloudEvent, which the mesh's own decoder reads back.
    expect(viaBinding).toMatchObject({ contentType: undefined, body: { specversion: '1.0', type: 'TicketTriaged', correlationid: 'corr-42', causationid: 'TCK-1', meshroute: 'ticket-triage' } });
    const structured = viaBinding!.body as { id: string; data: { result: { priority: string }; provenance: { region: string } } };
    expect(structured.data.result.priority).toMatch(/^p[1-4]$/);
    expect(structured.data.provenance.region).toBe('westeurope');
    const { decodeServiceBusMessage } = await import('../../shared/buses/index.ts');
    expect(decodeServiceBusMessage({ namespace: 'acme-support', entity: 'tickets-triaged', body: JSON.stringify(viaBinding!.body) }).event).toMatchObject({ id: structured.id, type: 'TicketTriaged' });
    // A sender sets the properties: messageId = result id (duplicate detection), CloudEvents attributes as cloudEvents: properties.
    expect(viaSender).toMatchObject({ messageId: structured.id, correlationId: 'corr-42', subject: 'TicketTriaged', applicationProperties: { 'cloudEvents:causationid': 'TCK-1', 'cloudEvents:meshroute': 'ticket-triage' } });
    expect(peer.messages('tickets/Subscriptions/mesh')).toEqual([]);
    expect(tables.entities('meshidempotency')).toMatchObject([{ PartitionKey: 'ticket-triage', RowKey: 'TCK-1', status: 'completed', resultId: structured.id }]);
  });

  it('without MESH_RESULTS_ENTITY registers no binding and sends every result through a sender, with messageId and properties, before completing', async () => {
    vi.stubEnv('MESH_RESULTS_ENTITY', '');
    await publishTicket('TCK-5', await TICKET());

    const report = await invokeOnMessage();

    expect(Object.values(installFunctionsCore().get('on-message')!.metadata.bindings).map((b) => b.type)).toEqual(['serviceBusTrigger']);
    expect(report.settled).toEqual([{ verb: 'complete', messageId: 'TCK-5' }]);
    const [result] = peer.messages('tickets-triaged/Subscriptions/agents');
    expect(result).toMatchObject({ subject: 'TicketTriaged', correlationId: 'corr-42', applicationProperties: { 'cloudEvents:causationid': 'TCK-5' } });
    expect(tables.entities('meshidempotency')).toMatchObject([{ RowKey: 'TCK-5', status: 'completed', resultId: result!.messageId }]);
  });

  it('dead-letters a message it cannot read at once, with the mesh error code as DeadLetterReason', async () => {
    await publishTicket('BAD-1', 'not a ticket');

    const report = await invokeOnMessage();

    expect(report.error).toBeUndefined();
    expect(report.settled).toEqual([{ verb: 'deadletter', messageId: 'BAD-1', reason: 'InvalidEvent', description: expect.stringMatching(/message/) }]);
    expect(peer.messages('tickets/Subscriptions/mesh')).toEqual([]);
    expect(peer.messages('tickets/Subscriptions/mesh/$DeadLetterQueue')).toMatchObject([
      { messageId: 'BAD-1', deliveryCount: 1, applicationProperties: { DeadLetterReason: 'InvalidEvent', DeadLetterErrorDescription: expect.stringMatching(/message/) } },
    ]);
  });

  it('abandons a retryable failure so it is delivered again, then dead-letters it with the mesh error on the last allowed delivery', async () => {
    const yaml = await readFile(join(dir, 'mesh.yaml'), 'utf8');
    await writeFile(join(dir, 'mesh.yaml'), yaml.replaceAll('simulated: { latencyMs: 0 }', 'simulated: { latencyMs: 0, retryAfterMs: 1, faults: { throttle: 1 } }'));
    await publishTicket('TCK-busy', await TICKET());

    const runs = [await invokeOnMessage(), await invokeOnMessage(), await invokeOnMessage()];

    expect(runs.map((r) => r.settled.map((s) => s.verb))).toEqual([['abandon'], ['abandon'], ['deadletter']]);
    expect(runs.every((r) => r.error === undefined)).toBe(true);
    const [dead] = peer.messages('tickets/Subscriptions/mesh/$DeadLetterQueue');
    expect(dead).toMatchObject({ messageId: 'TCK-busy', deliveryCount: 3 });
    expect(dead!.applicationProperties.DeadLetterReason).not.toBe('MaxDeliveryCountExceeded');
    expect(dead!.applicationProperties.DeadLetterReason).toBe(runs[2]!.settled[0]!.reason);
    expect(dead!.applicationProperties.DeadLetterErrorDescription).toMatch(/^\[ticket-triage\] /);
    expect(peer.messages('tickets-triaged/Subscriptions/agents')).toEqual([]);
  });

  it('registers a daily purge-claims timer that deletes claims past their keep time and leaves the rest', async () => {
    const registered = installFunctionsCore();
    await import('../../functions/azure/app.ts');
    const timer = registered.get('purge-claims')!;
    expect(Object.values(timer.metadata.bindings)).toEqual([expect.objectContaining({ type: 'timerTrigger', direction: 'in', schedule: '0 17 3 * * *' })]);
    const { TableClient } = await import('@azure/data-tables');
    const table = TableClient.fromConnectionString(tables.connectionString, 'meshidempotency', { allowInsecureConnection: true });
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    await table.createEntity({ partitionKey: 'ticket-triage', rowKey: 'OLD-1', status: 'completed', resultId: 'r-1', expiresAt: hourAgo });
    await table.createEntity({ partitionKey: 'ticket-triage', rowKey: 'STUCK-1', status: 'in-progress', expiresAt: hourAgo });
    await table.createEntity({ partitionKey: 'ticket-triage', rowKey: 'NEW-1', status: 'completed', resultId: 'r-2', expiresAt: tomorrow });
    const { InvocationContext } = await import('@azure/functions');

    await timer.handler({ isPastDue: false }, new InvocationContext({ functionName: 'purge-claims' }));

    expect(tables.entities('meshidempotency').map((e) => e.RowKey)).toEqual(['NEW-1']);
  });

  it('settles a mixed batch per message: the good one emits and completes, the bad one is dead-lettered', async () => {
    await publishTicket('TCK-2', await TICKET());
    await publishTicket('BAD-3', '{ truncated');

    const report = await invokeOnMessage();

    expect(report.messages).toBe(2);
    expect(report.settled).toEqual(expect.arrayContaining([{ verb: 'complete', messageId: 'TCK-2' }, expect.objectContaining({ verb: 'deadletter', messageId: 'BAD-3' })]));
    expect(peer.messages('tickets-triaged/Subscriptions/agents').map((m) => (m.body as { causationid: string }).causationid)).toEqual(['TCK-2']);
    expect(peer.messages('tickets/Subscriptions/mesh/$DeadLetterQueue').map((m) => m.messageId)).toEqual(['BAD-3']);
    expect(peer.messages('tickets/Subscriptions/mesh')).toEqual([]);
  });
});
