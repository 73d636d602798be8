import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvocationContext } from '@azure/functions';
import { ServiceBusClient, type ServiceBusMessage, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startServiceBusPeer, type ServiceBusPeer } from '../fakes/serviceBusPeer.ts';
import { startTableStorageFake, type TableStorageFake } from '../fakes/tableStorageFake.ts';

/*
 * The on-message function end to end without Azure: the real @azure/service-bus client and
 * @azure/data-tables client against local peers, and a small stand-in for the Functions host
 * that does what the host does around the handler — receive a batch in peek-lock, call the
 * handler with an InvocationContext (trigger metadata arrays, the output binding), send what
 * the handler put in `extraOutputs`, complete on success, abandon on a throw.
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
  await (await import('@azure/data-tables')).TableClient.fromConnectionString(tables.connectionString, 'meshidempotency', { allowInsecureConnection: true }).createTable();
});

afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await client.close();
  await peer.close();
  await tables.close();
  await rm(dir, { recursive: true, force: true });
});

type Handler = (messages: unknown, context: InvocationContext) => Promise<void>;

/** What the Functions host does around one invocation of a `cardinality: 'many'` Service Bus trigger. */
async function hostInvokes(load: () => Promise<{ handler: Handler; deadLettered: Set<number> }>): Promise<{ thrown?: Error }> {
  const { handler, deadLettered } = await load();
  const { resultsOutput } = await import('../../functions/azure/app.ts');
  const receiver = client.createReceiver('tickets', 'mesh');
  const batch = await receiver.receiveMessages(10, { maxWaitTimeInMs: 1_000 });
  held.set(handler, { receiver, batch });
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: 'on-message',
    triggerMetadata: {
      messageIdArray: batch.map((m) => m.messageId),
      subjectArray: batch.map((m) => m.subject),
      contentTypeArray: batch.map((m) => m.contentType),
      correlationIdArray: batch.map((m) => m.correlationId),
      deliveryCountArray: batch.map((m) => m.deliveryCount),
      enqueuedTimeUtcArray: batch.map((m) => m.enqueuedTimeUtc?.toISOString()),
      applicationPropertiesArray: batch.map((m) => m.applicationProperties ?? {}),
    },
    options: { extraOutputs: [resultsOutput] },
  });
  let thrown: Error | undefined;
  try {
    await handler(batch.map((m) => m.body), context);
    const results = (context.extraOutputs.get(resultsOutput) ?? []) as ServiceBusMessage[];
    if (results.length > 0) {
      const sender = client.createSender('tickets-triaged');
      await sender.sendMessages(results);
      await sender.close();
    }
    for (const [i, m] of batch.entries()) if (!deadLettered.has(i)) await receiver.completeMessage(m);
  } catch (err) {
    thrown = err as Error;
    for (const [i, m] of batch.entries()) if (!deadLettered.has(i)) await receiver.abandonMessage(m);
  }
  await receiver.close();
  return thrown ? { thrown } : {};
}

const held = new WeakMap<Handler, { receiver: ReturnType<ServiceBusClient['createReceiver']>; batch: ServiceBusReceivedMessage[] }>();

/** The registration module's handler, as deployed (no settlement actions). */
const deployed = async () => ({ handler: (await import('../../functions/azure/app.ts')).onMessage as Handler, deadLettered: new Set<number>() });

/** The same handler with settlement actions, as the Service Bus settlement extension would give it. */
const withSettlement = async () => {
  const { onMessageFromEnv } = await import('../../functions/azure/on-message.ts');
  const { setResults } = await import('../../functions/azure/app.ts');
  const deadLettered = new Set<number>();
  const handler: Handler = onMessageFromEnv(setResults, process.env, () => ({
    async deadLetter(index, reason, description) {
      const { receiver, batch } = held.get(handler)!;
      await receiver.deadLetterMessage(batch[index]!, { deadLetterReason: reason, deadLetterErrorDescription: description });
      deadLettered.add(index);
    },
  }));
  return { handler, deadLettered };
};

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

describe('on-message through Service Bus and Table Storage', () => {
  it('triages a ticket: the result goes to the output binding (same namespace) and to a sender (other namespace), and the input is completed', async () => {
    const sample = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as { body: unknown };
    await publishTicket('TCK-1', sample.body);

    const { thrown } = await hostInvokes(deployed);

    expect(thrown).toBeUndefined();
    const [viaBinding] = peer.messages('tickets-triaged/Subscriptions/agents');
    const [viaSender] = peer.messages('triage-audit');
    for (const result of [viaBinding, viaSender]) {
      expect(result).toMatchObject({ correlationId: 'corr-42', subject: 'TicketTriaged', applicationProperties: { 'cloudEvents:causationid': 'TCK-1', 'cloudEvents:meshroute': 'ticket-triage' } });
      expect((result!.body as { result: { priority: string } }).result.priority).toMatch(/^p[1-4]$/);
    }
    expect(viaBinding!.messageId).toBe(viaSender!.messageId);
    expect((viaBinding!.body as { provenance: { region: string } }).provenance.region).toBe('westeurope');
    expect(peer.messages('tickets/Subscriptions/mesh')).toEqual([]);
    expect(tables.entities('meshidempotency')).toMatchObject([{ PartitionKey: 'ticket-triage', RowKey: 'TCK-1', status: 'completed', resultId: viaBinding!.messageId }]);
  });

  it('dead-letters a message it cannot read with the mesh error as reason, through settlement actions, at once', async () => {
    await publishTicket('BAD-1', 'not a ticket');

    const { thrown } = await hostInvokes(withSettlement);

    expect(thrown).toBeUndefined();
    expect(peer.messages('tickets/Subscriptions/mesh')).toEqual([]);
    expect(peer.messages('tickets/Subscriptions/mesh/$DeadLetterQueue')).toMatchObject([
      { messageId: 'BAD-1', deliveryCount: 1, applicationProperties: { DeadLetterReason: 'InvalidEvent', DeadLetterErrorDescription: expect.stringMatching(/message/) } },
    ]);
  });

  it('without settlement actions, throws naming the mesh error until Service Bus dead-letters the message after MaxDeliveryCount', async () => {
    await publishTicket('BAD-2', 'not a ticket');

    const runs = [await hostInvokes(deployed), await hostInvokes(deployed), await hostInvokes(deployed)];

    expect(runs.map((r) => r.thrown?.message)).toEqual(runs.map(() => expect.stringContaining('BAD-2: InvalidEvent')));
    expect(peer.messages('tickets/Subscriptions/mesh/$DeadLetterQueue')).toMatchObject([{ messageId: 'BAD-2', applicationProperties: { DeadLetterReason: 'MaxDeliveryCountExceeded' } }]);
  });

  it('settles a mixed batch per message: the good one emits, the bad one is dead-lettered, nothing is retried', async () => {
    const sample = JSON.parse(await readFile(join(REPO, 'events', 'samples', '03-ticket-opened.servicebus.json'), 'utf8')) as { body: unknown };
    await publishTicket('TCK-2', sample.body);
    await publishTicket('BAD-3', '{ truncated');

    const { thrown } = await hostInvokes(withSettlement);

    expect(thrown).toBeUndefined();
    expect(peer.messages('tickets-triaged/Subscriptions/agents').map((m) => (m.applicationProperties['cloudEvents:causationid']))).toEqual(['TCK-2']);
    expect(peer.messages('tickets/Subscriptions/mesh/$DeadLetterQueue').map((m) => m.messageId)).toEqual(['BAD-3']);
    expect(peer.messages('tickets/Subscriptions/mesh')).toEqual([]);
  });
});
